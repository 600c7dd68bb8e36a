package social

import (
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// FeedFilterForTest selects a feed query for plan tests; AfterDeep starts
// the page deep in the past.
type FeedFilterForTest struct {
	Viewer    uuid.UUID
	Author    *uuid.UUID
	Following bool
	AfterDeep bool
}

// FeedSQLForTest returns the statement and arguments of a feed page.
func FeedSQLForTest(f FeedFilterForTest) (string, pgx.NamedArgs) {
	ff := feedFilter{Viewer: f.Viewer, Author: f.Author, Following: f.Following, Limit: 21}
	if f.AfterDeep {
		ff.After = &cursor{At: time.Now().Add(-5 * time.Hour), ID: uuid.Max}
	}
	return feedSQL(ff)
}
