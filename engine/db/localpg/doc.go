// Package localpg finds or runs a PostgreSQL server for development, one that
// Guildhall can use as a superuser.
//
// Binaries locates the newest installed PostgreSQL (15 or newer). Start runs
// a private cluster from those binaries in a directory of its own (DefaultDir
// unless told otherwise), and Reachable tells whether a given server answers,
// so `guildhall dev` can prefer DATABASE_URL or the usual local server and
// fall back to a private one.
//
// Guarantees:
//
//   - Start is idempotent over runs: it creates the cluster once (initdb),
//     reuses the data afterwards, starts the cluster when it is stopped and
//     adopts it when it is already running. The port is recorded in the
//     directory, so the URL stays the same from one run to the next.
//   - Stop stops only a cluster that this process started; a cluster adopted
//     from another run keeps running.
//   - The private cluster listens on 127.0.0.1 only (and on a Unix socket in
//     its directory), on its own port: it never touches a system cluster.
//     Authentication is trust, which suits a development machine only.
//   - Started as root, the cluster runs as the postgres OS user (initdb and
//     the server refuse root): Start gives it the directory and checks that it
//     can reach it. Concurrent Starts on one directory are serialized by a
//     lock file in it.
//
// Errors a person reads say what to do next, for instance how to install
// PostgreSQL (ErrNotInstalled).
package localpg
