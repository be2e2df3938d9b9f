package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// ratePeriod reads EventBridge's rate(N unit). A cron(...) schedule runs
// every minute in the devstack, the finest a cron expression can ask for.
func ratePeriod(schedule string) (time.Duration, error) {
	if strings.HasPrefix(schedule, "cron(") {
		return time.Minute, nil
	}
	inner, ok := strings.CutPrefix(schedule, "rate(")
	inner, ok2 := strings.CutSuffix(inner, ")")
	fields := strings.Fields(inner)
	if !ok || !ok2 || len(fields) != 2 {
		return 0, fmt.Errorf("schedule %q is not rate(N unit)", schedule)
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n < 1 {
		return 0, fmt.Errorf("schedule %q: bad count", schedule)
	}
	units := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}
	unit, ok := units[fields[1]]
	if !ok {
		return 0, fmt.Errorf("schedule %q: unknown unit %q", schedule, fields[1])
	}
	return time.Duration(n) * unit, nil
}

// scheduledEvent is what EventBridge sends a scheduled function.
func scheduledEvent(function string, at time.Time) []byte {
	raw, _ := json.Marshal(map[string]any{"version": "0", "id": strconv.FormatInt(at.UnixNano(), 36), "detail-type": "Scheduled Event",
		"source": "aws.events", "account": "000000000000", "time": at.UTC().Format(time.RFC3339), "region": "us-east-1",
		"resources": []string{"arn:aws:events:us-east-1:000000000000:rule/" + function}, "detail": map[string]any{}})
	return raw
}

// startSchedules invokes each scheduled function on a ticker, as EventBridge
// would: every Config.ScheduleEvery (BackupEvery for the vault's backups) if
// set, else at the catalog's rate.
func (s *Stack) startSchedules(inv invoke.Invoker) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopSchedules = cancel
	for _, f := range catalog.Functions {
		if f.Schedule == "" {
			continue
		}
		every := s.cfg.ScheduleEvery
		if f.Backups && f.Env["VAULT_BACKUP_KEEP"] != "" { // the snapshots, not the audit checkpoints
			every = s.cfg.BackupEvery
		}
		if every == 0 {
			var err error
			if every, err = ratePeriod(f.Schedule); err != nil {
				return err
			}
		}
		s.schedules.Add(1)
		go func() {
			defer s.schedules.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case at := <-t.C:
					if _, err := inv.Invoke(ctx, f.Name, scheduledEvent(f.Name, at)); err != nil && ctx.Err() == nil {
						s.log.Warn("scheduled invocation failed", "function", f.Name, "err", err)
					}
				}
			}
		}()
	}
	return nil
}
