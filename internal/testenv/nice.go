package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// SetNice gives every thread of the process pid the nice value n. Linux keeps a nice
// value per thread, and a thread inherits its creator's: setpriority on the pid alone
// would leave a Go process's running threads as they were. Threads started while it
// goes through them are caught by a second pass. Raising a thread's priority back
// (a lower n) needs CAP_SYS_NICE.
func SetNice(pid, n int) error {
	for range 2 {
		tids, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/[0-9]*", pid))
		if err != nil {
			return err
		}
		if len(tids) == 0 {
			return fmt.Errorf("process %d: %w", pid, os.ErrNotExist)
		}
		for _, dir := range tids {
			tid, err := strconv.Atoi(filepath.Base(dir))
			if err != nil {
				continue
			}
			// A thread that ended meanwhile is no longer there to set.
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("thread %d of process %d: %w", tid, pid, err)
			}
		}
	}
	return nil
}

// Nice is the nice value of the process pid's thread tid, read from /proc.
func Nice(pid, tid int) (int, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
	if err != nil {
		return 0, err
	}
	fields, err := statFieldsAfterCommand(stat)
	if err != nil {
		return 0, err
	}
	// fields[0] is the 3rd field (state): nice, the 19th, is fields[16].
	if len(fields) < 17 {
		return 0, fmt.Errorf("a /proc stat line of %d fields", len(fields)+2)
	}
	return strconv.Atoi(fields[16])
}
