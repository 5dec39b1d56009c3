// Command ferretdb-molt runs an embedded FerretDB v1 (SQLite backend) as a
// MongoDB-wire test server for mongo-molt.
//
// Usage: ferretdb-molt [-port N] [-dir PATH] [-host ADDR] [-log-level LEVEL]
//
// When the listener is ready it prints exactly one line to stdout:
//
//	MONGODB_URI=mongodb://127.0.0.1:PORT/
//
// and then serves until SIGINT or SIGTERM, on which it shuts down cleanly.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	os.Exit(run())
}

func run() int {
	port := flag.Int("port", 0, "TCP port to listen on (0 = pick a free port)")
	host := flag.String("host", "127.0.0.1", "address to listen on")
	dir := flag.String("dir", "", "SQLite data directory (created if missing; default: a new temp dir, removed on exit)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fail("invalid -log-level %q: %v", *logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	dataDir := *dir
	removeDir := false
	if dataDir == "" {
		d, err := os.MkdirTemp("", "ferretdb-molt-")
		if err != nil {
			return fail("creating temp dir: %v", err)
		}
		dataDir, removeDir = d, true
	}
	if removeDir {
		defer os.RemoveAll(dataDir)
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return fail("resolving -dir: %v", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fail("creating -dir: %v", err)
	}

	// file:///abs/path/ (trailing slash required: it is a directory, one .sqlite file per database).
	sqliteURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs) + "/"}).String()

	// Telemetry is disabled and the state file is in-memory in embedded mode
	// (ferretdb.New calls state.NewProvider("") and DisableTelemetry itself).
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: net.JoinHostPort(*host, strconv.Itoa(*port))},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return fail("%v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(ctx); err != nil {
			logger.Error("FerretDB stopped with error", "error", err)
		}
	}()

	// MongoDBURI blocks until the TCP listener is ready.
	fmt.Printf("MONGODB_URI=%s\n", f.MongoDBURI())
	_ = os.Stdout.Sync()

	<-done
	return 0
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "ferretdb-molt: "+format+"\n", args...)
	return 1
}
