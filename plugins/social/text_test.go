package social_test

import (
	"bufio"
	"html/template"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/guildhall/guildhall/plugins/social"
)

// corpus reads testdata/xss.txt.
func corpus(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/xss.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

var mentions = map[string]uuid.UUID{"member_1": uuid.MustParse("00000000-0000-7000-8000-000000000001")}

// checkSafe fails when segments could carry markup or a script URL: every
// href is an http(s) URL or a member's page, and the pieces add up to the
// text.
func checkSafe(t *testing.T, text string, segs []social.Segment) {
	t.Helper()
	var b strings.Builder
	for _, s := range segs {
		b.WriteString(s.Text)
		switch s.Kind {
		case social.SegmentText:
			if s.Href != "" {
				t.Errorf("%q: text segment with href %q", text, s.Href)
			}
		case social.SegmentLink:
			u, err := url.Parse(s.Href)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(s.Href, "<>\"' \\`") {
				t.Errorf("%q: unsafe link href %q", text, s.Href)
			}
		case social.SegmentMention:
			if !strings.HasPrefix(s.Href, "/members/") || !social.ValidHandle(strings.TrimPrefix(s.Href, "/members/")) {
				t.Errorf("%q: unsafe mention href %q", text, s.Href)
			}
		default:
			t.Errorf("%q: segment kind %q", text, s.Kind)
		}
	}
	if b.String() != text {
		t.Errorf("segments of %q add up to %q", text, b.String())
	}
}

func TestSegments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string // kind:text
	}{
		{"Plain", "hello world", []string{"text:hello world"}},
		{"Mention", "hi @member_1!", []string{"text:hi ", "mention:@member_1", "text:!"}},
		{"MentionAnyCase", "@Member_1", []string{"mention:@Member_1"}},
		{"UnknownMention", "hi @stranger", []string{"text:hi @stranger"}},
		{"Email", "mail a@member_1.com", []string{"text:mail a@member_1.com"}},
		{"Link", "see https://example.com/a?b=c.", []string{"text:see ", "link:https://example.com/a?b=c", "text:."}},
		{"LinkInParens", "(https://example.com/x)", []string{"text:(", "link:https://example.com/x", "text:)"}},
		{"WikiParens", "https://en.wikipedia.org/wiki/Go_(language)", []string{"link:https://en.wikipedia.org/wiki/Go_(language)"}},
		{"JavaScript", "javascript:alert(1)", []string{"text:javascript:alert(1)"}},
		{"Data", "data:text/html,<b>x</b>", []string{"text:data:text/html,<b>x</b>"}},
		{"Credentials", "https://user:pw@example.com", []string{"text:https://user:pw@example.com"}},
		{"GluedToWord", "xhttps://example.com", []string{"text:xhttps://example.com"}},
		{"QuoteEndsLink", `https://example.com/"onmouseover="x`, []string{"link:https://example.com/", `text:"onmouseover="x`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs := social.Segments(tt.text, mentions)
			var got []string
			for _, s := range segs {
				got = append(got, s.Kind+":"+s.Text)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Segments(%q) (-want +got):\n%s", tt.text, d)
			}
			checkSafe(t, tt.text, segs)
		})
	}
	if got := social.Mentions("@a1b2 @member_1 @MEMBER_1 x@member_2 @no"); !cmp.Equal(got, []string{"a1b2", "member_1"}) {
		t.Errorf("Mentions() = %v", got)
	}
}

// TestXSSCorpus runs classic payloads through Segments and RenderHTML:
// no segment ever carries a non-http(s) href, and the rendered HTML holds
// no tag or attribute the renderer did not write.
func TestXSSCorpus(t *testing.T) {
	t.Parallel()
	for _, payload := range corpus(t) {
		segs := social.Segments(payload, mentions)
		checkSafe(t, payload, segs)
		html := social.RenderHTML(segs, "https://c.example")
		// Take out what the renderer writes; nothing else may look like
		// markup.
		rest := html
		for strings.Contains(rest, `<a href="`) {
			i := strings.Index(rest, `<a href="`)
			j := strings.IndexByte(rest[i+9:], '"')
			href := rest[i+9 : i+9+j]
			if !strings.HasPrefix(href, "http://") && !strings.HasPrefix(href, "https://") {
				t.Errorf("%q renders a link to %q", payload, href)
			}
			k := strings.IndexByte(rest[i+9+j:], '>')
			rest = rest[:i] + rest[i+9+j+k+1:]
		}
		rest = strings.ReplaceAll(strings.ReplaceAll(rest, "<br>", ""), "</a>", "")
		if strings.ContainsAny(rest, "<>") {
			t.Errorf("%q renders unescaped markup: %s", payload, html)
		}
		// The same text through html/template (as templ does) is inert too.
		var b strings.Builder
		_ = template.Must(template.New("t").Parse(`<p>{{.}}</p>`)).Execute(&b, payload)
		if strings.Contains(strings.TrimSuffix(strings.TrimPrefix(b.String(), "<p>"), "</p>"), "<") {
			t.Errorf("html/template left markup in %q", payload)
		}
	}
}

func TestRenderHTML(t *testing.T) {
	t.Parallel()
	segs := social.Segments("Hi @member_1 <b>\nsee https://example.com/?a=1&b=\"2\"", mentions)
	got := social.RenderHTML(segs, "https://c.example")
	want := `Hi <a href="https://c.example/members/member_1" class="mention">@member_1</a> &lt;b&gt;<br>see ` +
		`<a href="https://example.com/?a=1&amp;b=" rel="nofollow ugc noopener">https://example.com/?a=1&amp;b=</a>&#34;2&#34;`
	if got != want {
		t.Errorf("RenderHTML() =\n%s\nwant\n%s", got, want)
	}
	// A hand-made segment with a script URL renders as text.
	bad := social.RenderHTML([]social.Segment{{Kind: social.SegmentLink, Text: "x", Href: "javascript:alert(1)"}}, "")
	if bad != "x" {
		t.Errorf("RenderHTML(javascript link) = %q", bad)
	}
}

func FuzzSegments(f *testing.F) {
	for _, s := range []string{"hi @member_1 https://example.com", "javascript:alert(1)", "<script>", "@@@", "https://(((("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		segs := social.Segments(text, mentions)
		checkSafe(t, text, segs)
		if html := social.RenderHTML(segs, ""); strings.Contains(html, "<script") || strings.Contains(html, "javascript:\"") {
			t.Errorf("RenderHTML(%q) = %q", text, html)
		}
	})
}
