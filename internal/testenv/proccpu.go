package testenv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU times in /proc/PID/stat: USER_HZ, which Linux fixes
// at 100 for what it reports to user space whatever the kernel's own tick.
const userHZ = 100

// CPUSeconds is the CPU time (user and system) the process with pid has used so
// far, read from /proc: what a restart costs the process, as opposed to how long it
// took on cores it shared.
func CPUSeconds(pid int) (float64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return cpuSecondsOfStat(stat)
}

// cpuSecondsOfStat reads utime and stime, the 14th and 15th fields of a
// /proc/PID/stat line.
func cpuSecondsOfStat(stat []byte) (float64, error) {
	fields, err := statFieldsAfterCommand(stat)
	if err != nil {
		return 0, err
	}
	// fields[0] is the 3rd field (state): utime and stime are fields[11] and [12].
	if len(fields) < 13 {
		return 0, fmt.Errorf("a /proc stat line of %d fields", len(fields)+2)
	}
	var ticks float64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("a /proc stat CPU time %q: %w", f, err)
		}
		ticks += float64(n)
	}
	return ticks / userHZ, nil
}

// statFieldsAfterCommand is a /proc stat line's fields from the 3rd on. The 2nd is
// the command in parentheses, which may itself hold spaces and parentheses: the
// fields are counted from after its last ')'.
func statFieldsAfterCommand(stat []byte) ([]string, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return nil, fmt.Errorf("not a /proc stat line: %q", stat)
	}
	return strings.Fields(string(stat[end+1:])), nil
}

// FindProcess returns the pid of a running process whose command line has every one
// of args (the binary's path, a flag only it has), for measuring a process that
// another library started.
func FindProcess(args ...string) (int, bool) { return findProcess("/proc", args) }

func findProcess(procRoot string, args []string) (int, bool) {
	dirs, _ := filepath.Glob(filepath.Join(procRoot, "[0-9]*"))
	for _, dir := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		have := strings.Split(string(cmdline), "\x00")
		if containsAll(have, args) {
			pid, err := strconv.Atoi(filepath.Base(dir))
			return pid, err == nil
		}
	}
	return 0, false
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
