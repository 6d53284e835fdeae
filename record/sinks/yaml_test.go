package sinks

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tapdlp/tapdlp/config"
)

// decodeStrict is a test stand-in for the config package's decoder (which
// is unexported): yaml tags, unknown keys are errors, config.Size and
// config.Duration parse with the config package's own functions. It proves
// the documented YAML matches the structs the lead pastes into config.
func decodeStrict(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	switch v.Type() {
	case reflect.TypeOf(config.Size(0)):
		s, err := config.ParseSize(n.Value)
		v.SetInt(int64(s))
		return err
	case reflect.TypeOf(config.Duration(0)):
		d, err := config.ParseDuration(n.Value)
		v.SetInt(int64(d))
		return err
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			found := false
			for f := 0; f < v.NumField(); f++ {
				if strings.Split(v.Type().Field(f).Tag.Get("yaml"), ",")[0] == key {
					if err := decodeStrict(n.Content[i+1], v.Field(f), path+"."+key); err != nil {
						return err
					}
					found = true
				}
			}
			if !found {
				return fmt.Errorf("%s.%s: unknown key", path, key)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := decodeStrict(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := decodeStrict(n.Content[i+1], e, path+"."+n.Content[i].Value); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(n.Content[i].Value), e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		v.SetBool(b)
		return err
	case reflect.Int:
		i, err := strconv.Atoi(n.Value)
		v.SetInt(int64(i))
		return err
	default:
		return fmt.Errorf("%s: unsupported type %s", path, v.Type())
	}
	return nil
}

func TestDocumentedYAML(t *testing.T) {
	data, err := os.ReadFile("testdata/outputs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Outputs OutputsConfig `yaml:"outputs"`
	}
	if err := decodeStrict(&root, reflect.ValueOf(&doc).Elem(), ""); err != nil {
		t.Fatal(err)
	}
	o := doc.Outputs
	if err := Validate(&o); err != nil {
		t.Fatal(err)
	}
	if len(o.Sinks) != 4 || o.Sinks[0].File.MaxSize != 256<<20 || o.Sinks[3].Queue.SpoolSize != 4<<30 ||
		o.Sinks[3].Kafka.Topics["alert"] != "tapdlp-alerts" || !o.Sinks[3].Kafka.TLS.Enabled {
		t.Fatalf("decoded %+v", o)
	}
}
