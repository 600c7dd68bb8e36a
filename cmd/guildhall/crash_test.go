package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/audit"
	"github.com/guildhall/guildhall/engine/db"
	"github.com/guildhall/guildhall/engine/db/dbtest"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/identity/identitytest"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/plugins/social"
	"github.com/guildhall/guildhall/tenants"
)

// buildBinary builds guildhall once per test binary.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "guildhall-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "guildhall")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCrash_AwardsSurviveSIGKILL runs the real binary, kills it with SIGKILL
// in the middle of a load whose clients retry with the same idempotency
// keys, starts it again, and checks that every acknowledged award exists
// exactly once and the books are right.
func TestCrash_AwardsSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	d := dbtest.NewDatabase(t)
	store := db.New(d.App)
	ctx := audit.WithActor(context.Background(), audit.Actor{Name: "test"})
	tn, err := tenants.NewService(store, newPlugins(social.Deps{}), "guildhall.test").Create(ctx, tenants.CreateParams{
		Slug: "crash", Name: "Crash", Kind: "social", TimeZone: "UTC", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	tctx := engine.WithTenant(ctx, tn.ID)
	ids := identitytest.New(t, store, identity.Config{})
	var members []uuid.UUID
	for i := range 10 {
		u, _, err := ids.Service.SeedUser(tctx, identity.SeedUserParams{Email: fmt.Sprintf("m%d@example.com", i), DisplayName: "M", Password: "correct horse battery", Role: "member"})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, u.ID)
	}
	key, err := ids.Service.CreateAPIKey(tctx, identity.CreateAPIKeyParams{Name: "crash", Scopes: []string{"events:write"}})
	if err != nil {
		t.Fatal(err)
	}

	addr := freePort(t)
	env := append(os.Environ(), "DATABASE_URL="+appURL(d), "GUILDHALL_ADDR="+addr, "GUILDHALL_SECRET_KEYS="+testKeys,
		"GUILDHALL_JWT_KEYS="+testKeys, "GUILDHALL_LOG_LEVEL=warn")
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve")
		cmd.Env = env
		var logs bytes.Buffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			r, err := http.Get("http://" + addr + "/healthz")
			if err == nil {
				r.Body.Close()
				if r.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("server did not start: %s", logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return cmd
	}
	server := start()

	type ack struct {
		EventID *uuid.UUID `json:"event_id"`
		Granted int64      `json:"granted"`
	}
	var mu sync.Mutex
	acked := map[string]ack{}
	client := &http.Client{Timeout: 5 * time.Second}
	const clients, each = 8, 60
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				k := uuid.Must(uuid.NewV7()).String()
				body, _ := json.Marshal(map[string]any{"type": "post.created", "member_id": members[(c+i)%len(members)], "idempotency_key": k})
				for {
					req, _ := http.NewRequest("POST", "http://"+addr+"/t/crash/api/v1/events", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+key.Token)
					req.Header.Set("Content-Type", "application/json")
					res, err := client.Do(req)
					if err == nil && res.StatusCode == 200 {
						var a ack
						err = json.NewDecoder(res.Body).Decode(&a)
						res.Body.Close()
						if err == nil {
							mu.Lock()
							acked[k] = a
							mu.Unlock()
							break
						}
					} else if err == nil {
						res.Body.Close()
					}
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond): // the server is down or busy: retry, same key
					}
				}
			}
		})
	}
	// Kill it while the load runs, then bring it back.
	eventually(t, 20*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) > 50 }, "no awards before the crash")
	if err := server.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = server.Wait()
	server = start()
	defer func() { _ = server.Process.Signal(syscall.SIGTERM); _ = server.Wait() }()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		close(stop)
		t.Fatal("clients did not finish after the restart")
	}

	if len(acked) != clients*each {
		t.Fatalf("%d awards acknowledged, want %d", len(acked), clients*each)
	}
	var events, keysStored int
	var granted int64
	err = store.InTenant(tctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(tctx, `SELECT count(*), coalesce(sum(granted), 0) FROM coin_events`).Scan(&events, &granted); err != nil {
			return err
		}
		return tx.QueryRow(tctx, `SELECT count(*) FROM idempotency_keys WHERE response IS NOT NULL`).Scan(&keysStored)
	})
	if err != nil {
		t.Fatal(err)
	}
	var ackedGranted int64
	for _, a := range acked {
		ackedGranted += a.Granted
	}
	if events != len(acked) || keysStored != len(acked) || granted != ackedGranted {
		t.Errorf("after the crash: %d events, %d keys, %d coins granted; acknowledged %d awards worth %d",
			events, keysStored, granted, len(acked), ackedGranted)
	}
	r, err := ledger.NewService(store, nil).Verify(tctx)
	if err != nil || !r.OK() {
		t.Errorf("ledger verify after the crash = %+v, %v", r, err)
	}
}
