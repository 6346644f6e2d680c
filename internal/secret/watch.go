package secret

import (
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// ReloadOnSIGHUP reloads every reloadable key each time the process receives
// SIGHUP, logging the outcome (the key's name and source, never its value).
// A failed reload keeps the key in use, so a half-written file during a
// rotation costs nothing but a warning; the next SIGHUP tries again.
// onReload, if not nil, runs after each round with the number of keys that
// failed. The returned stop function uninstalls the handler and waits for the
// watcher to finish; it is safe to call more than once.
func ReloadOnSIGHUP(logger *slog.Logger, onReload func(failed int), keys ...*Key) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	stopWatch := watch(ch, logger, onReload, keys)
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			stopWatch()
		})
	}
}

// watch reloads keys on every value received from ch until stop is called.
func watch(ch <-chan os.Signal, logger *slog.Logger, onReload func(int), keys []*Key) (stop func()) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-ch:
				reloadAll(logger, onReload, keys)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func reloadAll(logger *slog.Logger, onReload func(int), keys []*Key) {
	failed := 0
	for _, k := range keys {
		if !k.Reloadable() {
			continue
		}
		changed, err := k.reload()
		if err != nil {
			failed++
			logger.Warn("secret reload failed, keeping the current one",
				"secret", k.Name(), "source", k.Source(), "err", err)
			continue
		}
		logger.Info("secret reloaded", "secret", k.Name(), "source", k.Source(),
			"changed", changed, "generation", k.Generation())
	}
	if onReload != nil {
		onReload(failed)
	}
}

// ReloadEvery re-reads every reloadable key each interval, for platforms that
// replace a mounted file but cannot signal the process (a Kubernetes Secret
// volume is updated in place by the kubelet; nothing sends SIGHUP). A key
// whose file did not change is left alone and nothing is logged; a change or
// a failure is logged as with SIGHUP. interval <= 0 disables it (stop is a
// no-op).
func ReloadEvery(logger *slog.Logger, interval time.Duration, keys ...*Key) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, k := range keys {
					if !k.Reloadable() {
						continue
					}
					changed, err := k.reload()
					switch {
					case err != nil:
						logger.Warn("secret reload failed, keeping the current one",
							"secret", k.Name(), "source", k.Source(), "err", err)
					case changed:
						logger.Info("secret reloaded", "secret", k.Name(), "source", k.Source(),
							"changed", true, "generation", k.Generation())
					}
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.Stop()
			close(done)
			<-finished
		})
	}
}
