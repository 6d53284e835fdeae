package report

// Options bound the report's memory and size its tables. Zero means the
// default given on the field.
type Options struct {
	// Title heads the page; default "tapdlp report".
	Title string
	// TopN is how many rows or series each chart and table shows before the
	// rest is summed as "other"; default 8.
	TopN int
	// MaxKeys caps the distinct keys tracked per dimension (destinations,
	// domains, sources, rules, volume keys); records with a new key beyond
	// it are folded into "other" and counted. Default 10000.
	MaxKeys int
	// MaxCells caps the (series, time bucket) cells of each time chart and
	// the (source, destination) pairs; default 200000.
	MaxCells int
	// MaxBuckets caps the time buckets: the bucket width grows (10ms … 1h …
	// days) as the span grows so that at most this many are kept; default 96.
	MaxBuckets int
	// MaxFirstSeen caps the first-seen destinations listed (the earliest
	// are kept); default 100.
	MaxFirstSeen int
	// MaxAlerts caps the alerts listed one by one in the alerts table (the
	// most severe are kept, earliest first within a severity); every alert
	// is still counted in the charts and tables. Default 1000.
	MaxAlerts int
	// MaxLine is the longest JSON line read; longer lines are skipped and
	// counted. Default 1 MiB.
	MaxLine int
}

// Fixed caps for dimensions whose values are a small vocabulary in honest
// input (DESIGN.md lists about ten categories and two dozen types); hostile
// input beyond them is folded into "other".
const (
	maxCategories = 24
	maxTypes      = 64
	maxInputs     = 256
	maxKeyLen     = 256 // bytes kept of any key string (a DNS name is at most 253)
)

func (o Options) withDefaults() Options {
	if o.Title == "" {
		o.Title = "tapdlp report"
	}
	if o.TopN <= 0 {
		o.TopN = 8
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = 10000
	}
	if o.MaxCells <= 0 {
		o.MaxCells = 200000
	}
	if o.MaxBuckets <= 1 {
		o.MaxBuckets = 96
	}
	if o.MaxFirstSeen <= 0 {
		o.MaxFirstSeen = 100
	}
	if o.MaxAlerts <= 0 {
		o.MaxAlerts = 1000
	}
	if o.MaxLine <= 0 {
		o.MaxLine = 1 << 20
	}
	return o
}
