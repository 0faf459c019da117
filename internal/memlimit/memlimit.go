// Package memlimit gives the Go runtime the container's memory limit. Go does not
// read it by itself: without a limit the heap may grow to twice what is live before a
// collection (GOGC=100), and a pod whose live heap is half its limit is OOM-killed.
package memlimit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Fraction of the container limit the runtime aims to stay under, leaving room for
// what the Go runtime does not count (thread stacks outside the heap, cgo, the page cache
// charged to the cgroup).
const Fraction = 0.9

// cgroup v1 reports "no limit" as a huge page-aligned number rather than "max".
const unlimitedV1 = 1 << 62

// Set applies Fraction of the cgroup memory limit found under root (the cgroup
// filesystem, /sys/fs/cgroup) as the runtime's soft memory limit, unless GOMEMLIMIT
// is set, which the runtime has then already applied. It returns the limit set, or 0
// when it left the runtime as it was.
func Set(root string) (int64, error) {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return 0, nil
	}
	limit, err := CgroupLimit(root)
	if err != nil || limit == 0 {
		return 0, err
	}
	soft := int64(float64(limit) * Fraction)
	debug.SetMemoryLimit(soft)
	return soft, nil
}

// CgroupLimit reads the memory limit of the process's cgroup, v2 first, then v1; 0
// means none is set.
func CgroupLimit(root string) (int64, error) {
	for _, file := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		raw, err := os.ReadFile(filepath.Join(root, file))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		value := strings.TrimSpace(string(raw))
		if value == "max" {
			return 0, nil
		}
		limit, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return 0, errors.New("reading " + file + ": " + err.Error())
		}
		if limit >= unlimitedV1 {
			return 0, nil
		}
		return limit, nil
	}
	return 0, nil
}
