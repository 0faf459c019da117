package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestCgroupLimit(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		want                int64
		wantErr             bool
	}{
		{name: "v2 limit", file: "memory.max", content: "536870912\n", want: 536870912},
		{name: "v2 unlimited", file: "memory.max", content: "max\n", want: 0},
		{name: "v1 limit", file: "memory/memory.limit_in_bytes", content: "268435456\n", want: 268435456},
		{name: "v1 unlimited", file: "memory/memory.limit_in_bytes", content: "9223372036854771712\n", want: 0},
		{name: "no cgroup files", want: 0},
		{name: "garbage", file: "memory.max", content: "lots", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.file != "" {
				path := filepath.Join(root, tc.file)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := CgroupLimit(root)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("CgroupLimit = %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestSetAppliesAFractionUnlessGOMEMLIMITIsSet(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "memory.max"), []byte("1000000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	got, err := Set(root)
	if err != nil || got != 900000000 || debug.SetMemoryLimit(-1) != 900000000 {
		t.Fatalf("Set = %d, %v; runtime limit %d; want 900000000", got, err, debug.SetMemoryLimit(-1))
	}

	debug.SetMemoryLimit(before)
	t.Setenv("GOMEMLIMIT", "300MiB")
	if got, err := Set(root); err != nil || got != 0 || debug.SetMemoryLimit(-1) != before {
		t.Fatalf("with GOMEMLIMIT set, Set = %d, %v and changed the runtime limit", got, err)
	}
}
