package logging

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	uberzap "go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// newZap is the manager's logger (controller-runtime's zap, JSON), with callers, debug
// lines and a fixed time, writing to buf.
func newZap(buf *bytes.Buffer) logr.Logger {
	return zap.New(zap.WriteTo(buf), func(o *zap.Options) {
		o.Level = zapcore.Level(-1)
		o.TimeEncoder = func(_ time.Time, enc zapcore.PrimitiveArrayEncoder) { enc.AppendString("T") }
		o.ZapOpts = append(o.ZapOpts, uberzap.AddCaller())
	})
}

// logAsAReconcile logs as controller-runtime's reconciles and ours do: loggers derived
// from one base, named, at levels below and above the one enabled, through a helper.
func logAsAReconcile(l logr.Logger) {
	base := l.WithName("scimuser").WithValues("controller", "scimuser")
	a := base.WithValues("ScimUser", klog.KRef("tenant", "a"), "namespace", "tenant", "name", "a")
	b := base.WithValues("ScimUser", klog.KRef("tenant", "b"))
	a.Info("reconciled", "took", 3)
	b.WithValues("reconcileID", "2").Error(errors.New("boom"), "failed", "retry", true)
	a.V(1).Info("debug line", "detail", map[string]int{"x": 1})
	a.V(2).Info("not written")
	a.WithName("child").Info("named")
	logFromHelper(b, "from a helper")
	b.Info("b again")
}

func logFromHelper(l logr.Logger, msg string) {
	l.WithCallDepth(1).Info(msg)
}

func TestDeferredValuesWriteTheSameLines(t *testing.T) {
	var direct, deferred bytes.Buffer
	// One call site, so that the error line's stack trace is the same for both.
	for _, l := range []logr.Logger{newZap(&direct), DeferValues(newZap(&deferred))} {
		logAsAReconcile(l)
	}
	if direct.String() != deferred.String() {
		t.Fatalf("deferred values changed the lines:\n%s\nwant:\n%s", deferred.String(), direct.String())
	}
	// The comparison means something only if the lines carry what could differ.
	for _, want := range []string{`"caller":"logging/deferred_test.go:`, `"ScimUser":{"name":"a","namespace":"tenant"}`, `"reconcileID":"2"`, `"debug line"`, `"logger":"scimuser.child"`} {
		if !strings.Contains(direct.String(), want) {
			t.Errorf("lines lack %s:\n%s", want, direct.String())
		}
	}
	if strings.Contains(direct.String(), "not written") {
		t.Errorf("a disabled level was written:\n%s", direct.String())
	}
	if got := strings.Count(direct.String(), `"ScimUser":{"name":"b"`); got != 3 {
		t.Errorf("b's lines carry b %d times, want 3:\n%s", got, direct.String())
	}
}

// A logger without a sink (logr.Discard's) stays one rather than wrapping nil.
func TestDeferValuesOfADiscardLogger(t *testing.T) {
	DeferValues(logr.Discard()).WithValues("k", "v").Info("nothing")
}

// BenchmarkReconcileLogger is what a reconcile that logs nothing at the default level
// costs in logging: controller-runtime's three WithValues and a debug line.
func BenchmarkReconcileLogger(b *testing.B) {
	for _, bench := range []struct {
		name string
		wrap func(logr.Logger) logr.Logger
	}{
		{"zap", func(l logr.Logger) logr.Logger { return l }},
		{"deferred", DeferValues},
	} {
		b.Run(bench.name, func(b *testing.B) {
			var out bytes.Buffer
			l := bench.wrap(zap.New(zap.WriteTo(&out))).WithValues("controller", "scimuser", "controllerGroup", "identity.scim-operator.io", "controllerKind", "ScimUser")
			b.ReportAllocs()
			for b.Loop() {
				r := l.WithValues("ScimUser", klog.KRef("tenant", "user-1")).WithValues("namespace", "tenant", "name", "user-1")
				r = r.WithValues("reconcileID", "9c4b1f4e-8a4e-4b8e-a8f4-3f0e6e7d2c11")
				r.V(1).Info("Reconciling")
			}
			if out.Len() != 0 {
				b.Fatalf("a debug line was written at the default level")
			}
		})
	}
}
