package destinations

// Category is a destination category, one of the stable identifiers of
// DESIGN.md. Users write rules against these strings; never rename one.
type Category string

// The canonical categories.
const (
	CategoryAIML         Category = "ai_ml"
	CategoryCloudStorage Category = "cloud_storage"
	CategorySaaS         Category = "saas"
	CategoryAnalytics    Category = "analytics"
	CategorySocial       Category = "social"
	CategoryAdvertising  Category = "advertising"
	CategoryCDN          Category = "cdn"
	CategoryInternal     Category = "internal" // inside the configured home networks
	CategoryThreat       Category = "threat"   // on an IOC list
	CategoryUnknown      Category = "unknown"  // no name, or no catalog entry
)

// String implements fmt.Stringer.
func (c Category) String() string { return string(c) }

// catalogCategories are the categories a catalog entry may assign. internal
// and threat come from configuration (home_net, IOC lists), never from a
// catalog; unknown is allowed so a user file can neutralise a default entry.
var catalogCategories = map[Category]bool{
	CategoryAIML: true, CategoryCloudStorage: true, CategorySaaS: true,
	CategoryAnalytics: true, CategorySocial: true, CategoryAdvertising: true,
	CategoryCDN: true, CategoryUnknown: true,
}
