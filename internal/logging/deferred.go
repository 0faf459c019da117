// Package logging keeps a logger's key/value pairs unencoded until a line is written.
//
// controller-runtime gives every reconcile a logger of its own: three WithValues calls
// (the object as a klog reference, its namespace and name, a reconcile ID). Through zap
// each call clones an encoder with a fresh buffer and encodes the values into it, the
// klog reference by reflection, although the reconcilers log nothing at the default
// level on their usual path. At a restart over 100,000 identities that is hundreds of
// megabytes of garbage and the CPU to encode it, for lines never written.
package logging

import "github.com/go-logr/logr"

// DeferValues returns l with WithValues deferred: the values are kept as given and
// handed to l's sink with each line written, which produces the same lines.
func DeferValues(l logr.Logger) logr.Logger {
	sink := l.GetSink()
	if sink == nil {
		return l
	}
	// deferredSink is one more frame between the caller and the sink; the sink was
	// initialised by l already, so it is told the extra frame rather than Init again.
	if withDepth, ok := sink.(logr.CallDepthLogSink); ok {
		sink = withDepth.WithCallDepth(1)
	}
	return logr.New(&deferredSink{sink: sink}).V(l.GetV())
}

type deferredSink struct {
	sink   logr.LogSink
	values []any
}

var _ logr.CallDepthLogSink = &deferredSink{}

// Init is a no-op: DeferValues accounted for the frame deferredSink adds.
func (s *deferredSink) Init(logr.RuntimeInfo) {}

func (s *deferredSink) Enabled(level int) bool { return s.sink.Enabled(level) }

func (s *deferredSink) Info(level int, msg string, keysAndValues ...any) {
	s.sink.Info(level, msg, s.with(keysAndValues)...)
}

func (s *deferredSink) Error(err error, msg string, keysAndValues ...any) {
	s.sink.Error(err, msg, s.with(keysAndValues)...)
}

func (s *deferredSink) WithValues(keysAndValues ...any) logr.LogSink {
	return &deferredSink{sink: s.sink, values: append(s.values[:len(s.values):len(s.values)], keysAndValues...)}
}

func (s *deferredSink) WithName(name string) logr.LogSink {
	return &deferredSink{sink: s.sink.WithName(name), values: s.values}
}

func (s *deferredSink) WithCallDepth(depth int) logr.LogSink {
	withDepth, ok := s.sink.(logr.CallDepthLogSink)
	if !ok {
		return s
	}
	return &deferredSink{sink: withDepth.WithCallDepth(depth), values: s.values}
}

// with is the values of a line: the logger's, then the line's own. It appends to a
// copy, as loggers derived from one logger share its values' array.
func (s *deferredSink) with(keysAndValues []any) []any {
	if len(s.values) == 0 {
		return keysAndValues
	}
	if len(keysAndValues) == 0 {
		return s.values
	}
	return append(s.values[:len(s.values):len(s.values)], keysAndValues...)
}
