// Command load drives the real outreach binary for `make bench`
// (bench/run.sh) and prints figures as ratios against baselines measured in
// the same run, because the machine is shared and noisy.
//
//	load outbox -bin bin/outreach -n 20000 -conns 4 -rounds 3
//	    An in-process devmail sink that keeps nothing receives N messages
//	    (a) from smtpout.BareSend (go-mail alone, C reused connections, no
//	    NOOP or RSET), run as a child process, and (b) from an outreach wave
//	    (fsync on, per-recipient rendering), the daemon a child process,
//	    timed from the start call to the last message at the sink. Rounds
//	    alternate which side goes first; medians are printed.
//	load import -bin bin/outreach -n 1000000
//	    Imports N generated contacts through `outreach contacts import`
//	    against a running daemon and times `contacts count --filter` over
//	    them.
//	load bare -addr HOST:PORT -n N -conns C
//	    The child side of outbox (a): builds N messages as the outbox
//	    would, sends them with smtpout.BareSend, prints JSON.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: load outbox|import|bare [flags]")
	}
	switch args[0] {
	case "outbox":
		return outboxCmd(ctx, args[1:], out)
	case "import":
		return importCmd(ctx, args[1:], out)
	case "bare":
		return bareCmd(ctx, args[1:], out)
	}
	return fmt.Errorf("unknown command %q: want outbox, import or bare", args[0])
}
