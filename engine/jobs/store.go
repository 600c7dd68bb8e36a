package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"
)

// tenantFilter is the JSON that a tenant's job args contain.
func tenantFilter(tenant uuid.UUID) string {
	b, _ := json.Marshal(map[string]string{"tenant_id": tenant.String()})
	return string(b)
}

// countJobs counts River's jobs by River's state, of one tenant or (uuid.Nil)
// of all. River's client has no count; this reads its table directly.
func countJobs(ctx context.Context, tx pgx.Tx, tenant uuid.UUID) (map[rivertype.JobState]int, error) {
	sql := `SELECT state::text, count(*) FROM river_job`
	var args []any
	if tenant != uuid.Nil {
		// Containment on args uses River's GIN index on river_job.args.
		sql += ` WHERE args @> $1::jsonb`
		args = append(args, tenantFilter(tenant))
	}
	sql += ` GROUP BY state`
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	out := map[rivertype.JobState]int{}
	var state string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		out[rivertype.JobState(state)] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}
