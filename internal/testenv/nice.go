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
		tids, err := threadsOf(pid)
		if err != nil {
			return err
		}
		for _, tid := range tids {
			// A thread that ended meanwhile is no longer there to set.
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("thread %d of process %d: %w", tid, pid, err)
			}
		}
	}
	return nil
}

// threadsOf lists the threads (their ids) of the process pid, from /proc.
func threadsOf(pid int) ([]int, error) {
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/[0-9]*", pid))
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("process %d: %w", pid, os.ErrNotExist)
	}
	tids := make([]int, 0, len(dirs))
	for _, dir := range dirs {
		if tid, err := strconv.Atoi(filepath.Base(dir)); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// niceOf is the nice value of the process pid's thread tid, read from /proc.
func niceOf(pid, tid int) (int, error) {
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
