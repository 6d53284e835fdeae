package destinations

import "testing"

// The start-up cost of the default tables, piece by piece: every sensor and
// every replay pays Build(Config{}) once before the first packet, and every
// reload pays it again. ParseSources is what the default tables would cost
// if they were parsed at run time (they were, before default_tables.go).
func BenchmarkStartup(b *testing.B) {
	b.Run("Build_default", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Build(Config{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseSources", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parseDefaultSources(b)
		}
	})
	b.Run("DefaultCatalogFile", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			DefaultCatalogFile()
		}
	})
	b.Run("DefaultRanges", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			DefaultRanges()
		}
	})
	f := DefaultCatalogFile()
	b.Run("NewCatalog_default", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewCatalog(f)
		}
	})
	rs := DefaultRanges()
	b.Run("NewRangeTable_default", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewRangeTable(rs)
		}
	})
}
