package social

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
)

// Text is stored as the member typed it, after normalize: plain text, never
// HTML. Escaping is the renderer's job; Segments splits text into pieces a
// renderer can escape one by one, and RenderHTML is such a renderer.

// normalize trims text, turns CR LF and CR into LF, and collapses runs of
// more than two blank lines into two. It reports why the text cannot be
// stored: invalid UTF-8, or control characters other than newline and tab
// (including the bidirectional overrides that make text read differently
// from how it is stored).
func normalize(s string) (string, string) {
	if !utf8.ValidString(s) {
		return "", "is not valid UTF-8 text"
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	for _, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if unicode.IsControl(r) || isBidiControl(r) || r == '\uFEFF' {
			return "", "contains control characters"
		}
	}
	s = strings.TrimSpace(s)
	// Lines holding only spaces count as blank.
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			blank++
			if blank > 2 {
				continue
			}
			l = ""
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n"), ""
}

func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') || r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// checkText normalises text for field and reports every problem: empty,
// longer than max characters, control characters, a blocked word, or (when
// noLinks) a link.
func checkText(field, text string, max int, blocked []string, noLinks bool) (string, []engine.FieldError) {
	t, why := normalize(text)
	if why != "" {
		return "", []engine.FieldError{{Field: field, Message: why}}
	}
	var problems []engine.FieldError
	n := utf8.RuneCountInString(t)
	switch {
	case n == 0:
		problems = append(problems, engine.FieldError{Field: field, Message: "is required"})
	case n > max:
		problems = append(problems, engine.FieldError{Field: field, Message: fmt.Sprintf("must be at most %d characters (it has %d)", max, n)})
	}
	if containsBlocked(t, blocked) {
		problems = append(problems, engine.FieldError{Field: field, Message: "contains a word this community does not allow"})
	}
	if noLinks && hasLinks(t) {
		problems = append(problems, engine.FieldError{Field: field, Message: "cannot contain links yet: new members may post links after a while"})
	}
	return t, problems
}

// containsBlocked reports whether text contains one of the blocked words or
// phrases as a whole word, in any case.
func containsBlocked(text string, blocked []string) bool {
	if len(blocked) == 0 {
		return false
	}
	lower := strings.ToLower(text)
	for _, w := range blocked {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" {
			continue
		}
		for i := 0; i <= len(lower)-len(w); {
			j := strings.Index(lower[i:], w)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(w)
			before, _ := utf8.DecodeLastRuneInString(lower[:start])
			after, _ := utf8.DecodeRuneInString(lower[end:])
			if (start == 0 || !isWordRune(before)) && (end == len(lower) || !isWordRune(after)) {
				return true
			}
			_, size := utf8.DecodeRuneInString(lower[start:])
			i = start + size
		}
	}
	return false
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// cleanWords normalises a blocked-words list: trimmed, lower-case, no
// duplicates or empties, each 1 to 100 characters without control
// characters.
func cleanWords(words []string) ([]string, []engine.FieldError) {
	out := []string{}
	seen := map[string]bool{}
	var problems []engine.FieldError
	for i, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" {
			continue
		}
		if utf8.RuneCountInString(w) > 100 || !printable(w) {
			problems = append(problems, engine.FieldError{Field: fmt.Sprintf("blocked_words[%d]", i), Message: "must be 1 to 100 characters, no control characters"})
			continue
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out, problems
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) {
			return false
		}
	}
	return true
}

// Handles are 3 to 30 of a-z, 0-9 and _, stored lower-case.
var handleRe = regexp.MustCompile(`^[a-z0-9_]{3,30}$`)

// ValidHandle reports whether h (already lower-cased) is a valid handle.
func ValidHandle(h string) bool { return handleRe.MatchString(h) }

// handleBase derives a handle candidate from a display name or an email's
// local part: lower-case a-z, 0-9 and _, other runs become one _, at most
// 24 characters (room for a numeric suffix), at least 3.
func handleBase(names ...string) string {
	for _, n := range names {
		var b strings.Builder
		underscore := false
		for _, r := range strings.ToLower(n) {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
				b.WriteRune(r)
				underscore = false
			case !underscore && b.Len() > 0:
				b.WriteByte('_')
				underscore = true
			}
		}
		h := strings.Trim(b.String(), "_")
		if len(h) > 24 {
			h = strings.TrimRight(h[:24], "_")
		}
		if len(h) >= 3 {
			return h
		}
	}
	return "member"
}

// mentionAt reports the handle of a mention starting at byte i of s (s[i]
// is '@'), and where it ends. A mention follows the start of the text or a
// character that is not part of a word (so a@b.c is no mention) and is 3 to
// 30 handle characters not followed by another.
func mentionAt(s string, i int) (string, int, bool) {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if isWordRune(r) || r == '@' || r == '/' || r == '.' {
			return "", 0, false
		}
	}
	j := i + 1
	for j < len(s) && j-i-1 < 31 && isHandleByte(s[j]) {
		j++
	}
	n := j - i - 1
	if n < 3 || n > 30 {
		return "", 0, false
	}
	if j < len(s) {
		r, _ := utf8.DecodeRuneInString(s[j:])
		if isWordRune(r) {
			return "", 0, false
		}
	}
	return strings.ToLower(s[i+1 : j]), j, true
}

func isHandleByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// linkAt reports the link starting at byte i of s, its safe href and where
// it ends. Only http and https URLs with a host count; trailing
// punctuation is left out; anything odd (quotes, angle brackets,
// backslashes, credentials, a host with other than letters, digits, dots and
// dashes) makes it plain text.
func linkAt(s string, i int) (href string, end int, ok bool) {
	rest := s[i:]
	lower := strings.ToLower(rest[:min(len(rest), 8)])
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return "", 0, false
	}
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if isWordRune(r) {
			return "", 0, false
		}
	}
	end = i
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' || r == '\'' || r == '`' || r == '\\' || unicode.IsControl(r) {
			break
		}
		end += size
	}
	for end > i {
		c := s[end-1]
		if strings.IndexByte(".,;:!?)]}*", c) < 0 {
			break
		}
		// Keep a closing parenthesis that closes one in the URL.
		if c == ')' && strings.Count(s[i:end], "(") >= strings.Count(s[i:end], ")") {
			break
		}
		end--
	}
	raw := s[i:end]
	if len(raw) > 2000 {
		return "", 0, false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Opaque != "" {
		return "", 0, false
	}
	host := u.Hostname()
	if host == "" || !validHost(host) {
		return "", 0, false
	}
	return u.String(), end, true
}

func validHost(h string) bool {
	if len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasPrefix(h, "-") || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// Mentions returns the distinct handles text mentions, lower-case, in
// order of appearance (at most 50).
func Mentions(text string) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(text); i++ {
		if text[i] != '@' {
			continue
		}
		if h, end, ok := mentionAt(text, i); ok {
			if !seen[h] && len(out) < 50 {
				seen[h] = true
				out = append(out, h)
			}
			i = end - 1
		}
	}
	return out
}

// hasLinks reports whether text has a link Segments would make.
func hasLinks(text string) bool {
	for _, s := range Segments(text, nil) {
		if s.Kind == SegmentLink {
			return true
		}
	}
	return false
}

// Segments splits text into plain text, mentions and links. A mention is
// an @handle found in mentions (handle → member, as resolved when the text
// was written); other @handles stay text. Links are http and https URLs
// only (see linkAt): a javascript:, data: or any other URL stays text.
// Segments never produce markup: the renderer escapes each piece.
func Segments(text string, mentions map[string]uuid.UUID) []Segment {
	out := []Segment{}
	plain := 0
	flush := func(to int) {
		if to > plain {
			if n := len(out); n > 0 && out[n-1].Kind == SegmentText {
				out[n-1].Text += text[plain:to]
			} else {
				out = append(out, Segment{Kind: SegmentText, Text: text[plain:to]})
			}
		}
	}
	for i := 0; i < len(text); {
		switch c := text[i]; {
		case c == '@':
			if h, end, ok := mentionAt(text, i); ok {
				if id, found := mentions[h]; found {
					flush(i)
					id := id
					out = append(out, Segment{Kind: SegmentMention, Text: text[i:end], Href: "/members/" + h, MemberID: &id})
					plain = end
				}
				i = end
				continue
			}
		case c == 'h' || c == 'H':
			if href, end, ok := linkAt(text, i); ok {
				flush(i)
				out = append(out, Segment{Kind: SegmentLink, Text: text[i:end], Href: href})
				plain, i = end, end
				continue
			}
		}
		i++
	}
	flush(len(text))
	return out
}

// RenderHTML renders segments as HTML for emails and digests: every piece
// of text escaped, newlines as <br>, links with rel="nofollow ugc
// noopener" and only the http(s) hrefs Segments made, mentions as links to
// base + their page. base is the web app's URL without a trailing slash
// ("" for relative links).
func RenderHTML(segs []Segment, base string) string {
	var b strings.Builder
	text := func(s string) {
		b.WriteString(strings.ReplaceAll(html.EscapeString(s), "\n", "<br>"))
	}
	for _, s := range segs {
		switch s.Kind {
		case SegmentLink:
			u, err := url.Parse(s.Href)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				text(s.Text)
				continue
			}
			b.WriteString(`<a href="` + html.EscapeString(u.String()) + `" rel="nofollow ugc noopener">`)
			text(s.Text)
			b.WriteString(`</a>`)
		case SegmentMention:
			if !strings.HasPrefix(s.Href, "/members/") || !ValidHandle(strings.TrimPrefix(s.Href, "/members/")) {
				text(s.Text)
				continue
			}
			b.WriteString(`<a href="` + html.EscapeString(base+s.Href) + `" class="mention">`)
			text(s.Text)
			b.WriteString(`</a>`)
		default:
			text(s.Text)
		}
	}
	return b.String()
}

// excerpt returns the first n characters of s.
func excerpt(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
