// Package pipeline wires the stages DESIGN.md draws — capture, decode, flow
// table and reassembly, app parsers, destinations, content inspection, rules
// and record sinks — into a running sensor, for replay and live capture
// alike. It owns the dispatcher (symmetric flow hash → worker), the workers,
// record building and the record writer. It holds no protocol or content
// logic of its own: each stage lives in its package and is only called here.
// In particular it imports no app-layer parser: appproto/demux recognises
// and parses, and a worker's session is only demux's content Sink.
package pipeline
