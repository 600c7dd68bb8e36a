package inbox

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/notify"
)

// digestItemsShown is how many notifications a digest lists; it says how
// many more there are.
const digestItemsShown = 10

// DigestPath is the web app page digests link to for the whole list.
const DigestPath = "/notifications"

// SendDigests emails the daily digest of the tenant in ctx for day, the
// tenant-local date (its year, month and day; a job passes the date it was
// enqueued for). Each member who wants digests (Settings.Digest), is
// active, not banned, has an email address, and has unread notifications
// newer than their last digest (by seq: what had committed when it was
// made) gets one email listing up to ten of them
// (newest first) with links to the web app. It returns how many it sent.
//
// At most one digest per member and day, however often it runs: a member's
// digest is claimed for the day (last_digest_day, last_digest_at) in a
// transaction that commits before the email is sent, so two runs never
// both send. If sending fails the claim is released, so the job's retry
// sends it; a crash between the claim and the send loses that day's digest
// (at most once, never twice). A recipient the mailer refuses as invalid
// is skipped for the day.
//
// Errors: not_found (no tenant in ctx), internal (no Mailer or WebURL configured; delivery failures,
// joined, after every other member was tried).
func (s *Service) SendDigests(ctx context.Context, day time.Time) (int, error) {
	if s.cfg.Mailer == nil || s.cfg.WebURL == nil {
		return 0, errors.New("send digests: inbox.Config needs a Mailer and a WebURL")
	}
	if _, ok := engine.TenantFrom(ctx); !ok {
		return 0, db.ErrNoTenant
	}
	date := day.Format(time.DateOnly)
	now := s.now()
	base := strings.TrimRight(s.cfg.WebURL(ctx), "/")
	from := s.cfg.TenantName(ctx)
	sent := 0
	var failures []error
	var after uuid.UUID
	for {
		var batch []digestCandidate
		err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
			var err error
			batch, err = digestCandidates(ctx, tx, date, after, 100)
			return err
		})
		if err != nil {
			return sent, err
		}
		for _, c := range batch {
			ok, err := s.sendDigest(ctx, c, date, now, base, from)
			if err != nil {
				if ctx.Err() != nil {
					return sent, errors.Join(append(failures, err)...)
				}
				failures = append(failures, err)
				continue
			}
			if ok {
				sent++
			}
		}
		if len(batch) < 100 {
			return sent, errors.Join(failures...)
		}
		after = batch[len(batch)-1].Member
	}
}

// sendDigest claims, builds and sends one member's digest; ok false when
// another run claimed it first.
func (s *Service) sendDigest(ctx context.Context, c digestCandidate, day string, now time.Time, base, from string) (bool, error) {
	var claim digestClaim
	var items []Notification
	var total int64
	claimed := false
	err := s.db.InTenant(ctx, func(tx pgx.Tx) error {
		var err error
		if claim, claimed, err = claimDigest(ctx, tx, c.Member, day, now); err != nil || !claimed {
			return err
		}
		items, total, err = digestItems(ctx, tx, c.Member, claim.PrevSeq, claim.UpTo, digestItemsShown)
		return err
	})
	if err != nil || !claimed || total == 0 {
		// total 0: everything was read meanwhile. The claim stands: there
		// was nothing to tell today.
		return false, err
	}
	m := digestEmail(c, items, total, base, from)
	if err := s.cfg.Mailer.SendEmail(ctx, m); err != nil {
		if errors.Is(err, notify.ErrInvalidRecipient) {
			s.cfg.Log.WarnContext(ctx, "digest not sent: invalid recipient", "member_id", c.Member)
			return false, nil
		}
		rerr := s.db.InTenant(context.WithoutCancel(ctx), func(tx pgx.Tx) error {
			return releaseDigest(ctx, tx, c.Member, day, now, claim)
		})
		return false, errors.Join(fmt.Errorf("send digest to member %s: %w", c.Member, err), rerr)
	}
	return true, nil
}

// digestEmail renders a digest: plain text, and simple HTML in which every
// notification text is escaped.
func digestEmail(c digestCandidate, items []Notification, total int64, base, from string) notify.Email {
	subject := fmt.Sprintf("You have %d new notifications in %s", total, from)
	if total == 1 {
		subject = fmt.Sprintf("You have a new notification in %s", from)
	}
	var text strings.Builder
	fmt.Fprintf(&text, "Hello %s,\n\nhere is what happened in %s since your last digest:\n\n", c.Name, from)
	view := digestView{Name: c.Name, From: from, All: base + DigestPath}
	for _, n := range items {
		it := digestViewItem{Text: n.Text}
		fmt.Fprintf(&text, "- %s\n", n.Text)
		if n.Link != "" {
			it.Link = base + n.Link
			fmt.Fprintf(&text, "  %s\n", it.Link)
		}
		view.Items = append(view.Items, it)
	}
	if more := total - int64(len(items)); more > 0 {
		view.More = more
		fmt.Fprintf(&text, "\n… and %d more.\n", more)
	}
	fmt.Fprintf(&text, "\nSee them all: %s\n\nYou get this email once a day when you have unread notifications. "+
		"You can turn it off in your notification settings.\n", view.All)
	var html strings.Builder
	_ = digestHTML.Execute(&html, view) // a fixed template over strings and ints
	return notify.Email{To: c.Email, Subject: subject, Text: text.String(), HTML: html.String(), FromName: from}
}

type digestView struct {
	Name, From, All string
	Items           []digestViewItem
	More            int64
}

type digestViewItem struct{ Text, Link string }

// digestHTML escapes every value (html/template); links are absolute URLs
// of the tenant's web app.
var digestHTML = template.Must(template.New("digest").Parse(`<!doctype html>
<html><body style="font-family:sans-serif">
<p>Hello {{.Name}},</p>
<p>here is what happened in {{.From}} since your last digest:</p>
<ul>{{range .Items}}
<li>{{if .Link}}<a href="{{.Link}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}</li>{{end}}
</ul>{{if .More}}
<p>… and {{.More}} more.</p>{{end}}
<p><a href="{{.All}}">See them all</a></p>
<p style="color:#666;font-size:small">You get this email once a day when you have unread notifications. You can turn it off in your notification settings.</p>
</body></html>
`))
