package social

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/inbox"
)

// findMember resolves a member ID or handle (any case) to an active
// member with a profile, creating the profile of a member who has none
// yet (by ID only: a handle exists only once its profile does). Banned
// members are found only by moderators.
// Errors: not_found.
func (s *Service) findMember(ctx context.Context, tx pgx.Tx, idOrHandle string) (memberRow, error) {
	var m memberRow
	var err error
	if id, perr := uuid.Parse(idOrHandle); perr == nil {
		m, err = s.ensureProfile(ctx, tx, id)
	} else {
		h := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(idOrHandle), "@"))
		if !ValidHandle(h) {
			return memberRow{}, ErrMemberNotFound
		}
		m, err = selectMemberByHandle(ctx, tx, h)
	}
	if err != nil {
		return memberRow{}, err
	}
	if m.Banned && !s.can(ctx, PermissionModerate) {
		return memberRow{}, ErrMemberNotFound
	}
	return m, nil
}

// Profile returns a member's profile, by ID or handle: counts, badges,
// coins earned by social activity when the tenant shows them, whether the
// viewer follows them, and (to the member and moderators) a suspension.
// A member's first profile read creates their profile.
// Errors: not_found.
func (s *Service) Profile(ctx context.Context, idOrHandle string) (Profile, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return Profile{}, err
	}
	v := viewer(ctx)
	var out Profile
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		m, err := s.findMember(ctx, tx, idOrHandle)
		if err != nil {
			return err
		}
		out, err = s.profile(ctx, tx, m, v, st)
		return err
	})
	return out, err
}

func (s *Service) profile(ctx context.Context, tx pgx.Tx, m memberRow, v uuid.UUID, st Settings) (Profile, error) {
	x, err := selectProfileExtras(ctx, tx, m.MemberID, v, st.ShowCoins)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{
		Member: m.author(), Bio: m.Bio, PostCount: m.PostCount, FollowerCount: m.FollowerCount, FollowingCount: m.FollowingCount,
		LikesReceived: m.LikesReceived, Badges: x.Badges, Following: x.Following, JoinedAt: m.ProfileCreatedAt,
	}
	if st.ShowCoins {
		p.Coins = &x.Coins
	}
	if m.SuspendedUntil != nil && m.SuspendedUntil.After(s.now()) && (v == m.MemberID || s.can(ctx, PermissionModerate)) {
		p.SuspendedUntil = m.SuspendedUntil
	}
	return p, nil
}

// ProfileParams changes the caller's own profile; nil fields stay.
type ProfileParams struct {
	Handle *string // 3 to 30 of a-z, 0-9 and _, any case (stored lower-case)
	Bio    *string // at most 300 characters
}

// UpdateProfile changes the handle and bio of the member in ctx.
// Errors: invalid, conflict (ErrHandleTaken), unauthenticated, forbidden
// (banned).
func (s *Service) UpdateProfile(ctx context.Context, p ProfileParams) (Profile, error) {
	me, err := s.self(ctx)
	if err != nil {
		return Profile{}, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return Profile{}, err
	}
	var problems []engine.FieldError
	if p.Handle != nil {
		h := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(*p.Handle), "@"))
		if !ValidHandle(h) {
			problems = append(problems, engine.FieldError{Field: "handle", Message: "must be 3 to 30 letters a-z, digits or _"})
		} else if containsBlocked(h, st.BlockedWords) {
			problems = append(problems, engine.FieldError{Field: "handle", Message: "contains a word this community does not allow"})
		}
		p.Handle = &h
	}
	if p.Bio != nil {
		b, why := normalize(*p.Bio)
		switch {
		case why != "":
			problems = append(problems, engine.FieldError{Field: "bio", Message: why})
		case utf8.RuneCountInString(b) > 300:
			problems = append(problems, engine.FieldError{Field: "bio", Message: "must be at most 300 characters"})
		case containsBlocked(b, st.BlockedWords):
			problems = append(problems, engine.FieldError{Field: "bio", Message: "contains a word this community does not allow"})
		}
		p.Bio = &b
	}
	if err := engine.Invalid(problems); err != nil {
		return Profile{}, err
	}
	var out Profile
	err = s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		m, err := s.ensureProfile(ctx, tx, me)
		if err != nil {
			return err
		}
		if m.Banned {
			return ErrBanned
		}
		if err := updateProfile(ctx, tx, me, p); err != nil {
			return err
		}
		if m, err = selectMember(ctx, tx, me); err != nil {
			return err
		}
		out, err = s.profile(ctx, tx, m, me, st)
		return err
	})
	return out, err
}

// Follow makes the member in ctx follow another (nothing when they
// already do) and notifies them once.
// Errors: invalid (yourself), not_found, unauthenticated, forbidden
// (banned, suspended).
func (s *Service) Follow(ctx context.Context, member uuid.UUID) error {
	me, err := s.self(ctx)
	if err != nil {
		return err
	}
	if member == me {
		return ErrSelfFollow
	}
	return s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		o := &outbox{}
		w, err := s.writer(ctx, tx, me)
		if err != nil {
			return err
		}
		t, err := s.ensureProfile(ctx, tx, member)
		if err != nil {
			return err
		}
		if t.Banned {
			return ErrMemberNotFound
		}
		added, err := insertFollow(ctx, tx, me, member)
		if err != nil || !added {
			return err
		}
		// Lock order: profiles in member-ID order.
		var before, after int64
		for _, id := range ordered(me, member) {
			if id == me {
				_, _, err = bumpProfile(ctx, tx, me, counterFollowing, 1)
			} else {
				before, after, err = bumpProfile(ctx, tx, member, counterFollowers, 1)
			}
			if err != nil {
				return err
			}
		}
		if err := s.milestones(ctx, tx, o, member, *t.Handle, "followers", before, after); err != nil {
			return err
		}
		actor := me
		o.add(inbox.AddParams{Member: member, Kind: "follow", Actor: &actor, Subject: "member:" + me.String(), Link: "/members/" + w.Handle,
			Text: name(w) + " followed you.", DedupeKey: "follow:" + me.String()})
		return s.flush(ctx, tx, o)
	})
}

// Unfollow stops the member in ctx following another (nothing when they
// do not).
// Errors: not_found, unauthenticated, forbidden (banned, suspended).
func (s *Service) Unfollow(ctx context.Context, member uuid.UUID) error {
	me, err := s.self(ctx)
	if err != nil {
		return err
	}
	return s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		if _, err := s.writer(ctx, tx, me); err != nil {
			return err
		}
		removed, err := deleteFollow(ctx, tx, me, member)
		if err != nil || !removed {
			return err
		}
		for _, id := range ordered(me, member) {
			c := counterFollowers
			if id == me {
				c = counterFollowing
			}
			if _, _, err := bumpProfile(ctx, tx, id, c, -1); err != nil {
				return err
			}
		}
		return nil
	})
}

func ordered(a, b uuid.UUID) []uuid.UUID {
	if strings.Compare(a.String(), b.String()) > 0 {
		return []uuid.UUID{b, a}
	}
	return []uuid.UUID{a, b}
}

// FollowParams selects a page of a member's followers or followees.
type FollowParams struct {
	Member string // ID or handle
	Cursor string
	Limit  int // 1..100; 0 means 50
}

// FollowPage is a page of members, newest follow first.
type FollowPage struct {
	Members []FollowEntry
	Next    string
}

// Followers lists who follows a member, newest first. Banned members are
// left out.
// Errors: invalid, not_found.
func (s *Service) Followers(ctx context.Context, p FollowParams) (FollowPage, error) {
	return s.follows(ctx, p, true)
}

// Following lists whom a member follows, newest first.
// Errors: invalid, not_found.
func (s *Service) Following(ctx context.Context, p FollowParams) (FollowPage, error) {
	return s.follows(ctx, p, false)
}

func (s *Service) follows(ctx context.Context, p FollowParams, followers bool) (FollowPage, error) {
	after, problems := decodeCursor(p.Cursor)
	problems = append(problems, checkLimit(&p.Limit, 50, 100)...)
	if err := engine.Invalid(problems); err != nil {
		return FollowPage{}, err
	}
	var page FollowPage
	err := s.d.DB.InTenant(ctx, func(tx pgx.Tx) error {
		m, err := s.findMember(ctx, tx, p.Member)
		if err != nil {
			return err
		}
		list, err := listFollows(ctx, tx, m.MemberID, followers, after, p.Limit+1)
		if err != nil {
			return err
		}
		if len(list) > p.Limit {
			list = list[:p.Limit]
			last := list[p.Limit-1]
			page.Next = cursor{At: last.Since, ID: last.Member.ID}.encode()
		}
		page.Members = list
		return nil
	})
	return page, err
}
