package lint

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/orderguard/orderguard/internal/validate"
)

// SARIF 2.1.0, the subset GitHub code scanning and other viewers read.
// https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

type SARIFLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []SARIFRun `json:"runs"`
}

type SARIFRun struct {
	Tool       SARIFTool     `json:"tool"`
	ColumnKind string        `json:"columnKind"`
	Results    []SARIFResult `json:"results"`
}

type SARIFTool struct {
	Driver SARIFDriver `json:"driver"`
}

type SARIFDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []SARIFRule `json:"rules"`
}

type SARIFRule struct {
	ID                   string          `json:"id"`
	ShortDescription     SARIFText       `json:"shortDescription"`
	FullDescription      SARIFText       `json:"fullDescription"`
	HelpURI              string          `json:"helpUri,omitempty"`
	DefaultConfiguration SARIFRuleConfig `json:"defaultConfiguration"`
	Properties           SARIFRuleProps  `json:"properties"`
}

type SARIFRuleConfig struct {
	Level string `json:"level"`
}

type SARIFRuleProps struct {
	Source string   `json:"source"`
	Kind   string   `json:"kind"`
	Tags   []string `json:"tags,omitempty"`
}

type SARIFText struct {
	Text string `json:"text"`
}

type SARIFResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    SARIFText       `json:"message"`
	Locations  []SARIFLocation `json:"locations"`
	Properties *SARIFResProps  `json:"properties,omitempty"`
}

type SARIFResProps struct {
	Operation string `json:"operation"`
	Kind      string `json:"kind"`
	Index     *int   `json:"index,omitempty"`
}

type SARIFLocation struct {
	PhysicalLocation SARIFPhysical  `json:"physicalLocation"`
	LogicalLocations []SARIFLogical `json:"logicalLocations,omitempty"`
}

type SARIFPhysical struct {
	ArtifactLocation SARIFArtifact `json:"artifactLocation"`
	Region           SARIFRegion   `json:"region"`
}

type SARIFArtifact struct {
	URI string `json:"uri"`
}

type SARIFRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	ByteOffset  int `json:"byteOffset"`
}

type SARIFLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// Descriptions of the validators' own rules (schema keywords and strict-JSON
// checks), which have no RuleInfo; SARIF viewers want metadata for every ruleId.
var keywordRules = map[string]string{
	// JSON Schema keywords the generator supports (issue 3).
	"type":                 "A value has a type the schema does not allow.",
	"nullable":             "A value is null where the schema does not allow null.",
	"required":             "A member the schema requires is missing.",
	"additionalProperties": "An object has a member the schema does not allow.",
	"enum":                 "A value is not one of the values the schema lists.",
	"pattern":              "A string does not match the schema's pattern.",
	"format":               "A string does not have the schema's format (email, ipv4, ipv6, date, date-time, uri).",
	"minLength":            "A string is shorter than the schema allows.",
	"maxLength":            "A string is longer than the schema allows.",
	"minimum":              "A number is below the schema's minimum.",
	"maximum":              "A number is above the schema's maximum.",
	"exclusiveMinimum":     "A number is not above the schema's exclusive minimum.",
	"exclusiveMaximum":     "A number is not below the schema's exclusive maximum.",
	"minItems":             "An array has fewer items than the schema allows.",
	"maxItems":             "An array has more items than the schema allows.",
	"oneOf":                "A value does not match exactly one of the schema's alternatives.",
	"anyOf":                "A value matches none of the schema's alternatives.",
	"discriminator":        "A discriminator member names no known alternative.",
	"not":                  "A value matches a schema it must not match.",
	"minProperties":        "An object has fewer members than the schema allows.",
	"maxProperties":        "An object has more members than the schema allows.",
	// Strict JSON checks of the scanner (internal/validate).
	"syntax":            "The bytes are not valid JSON at this place (RFC 8259).",
	"truncated":         "The JSON document ends early.",
	"trailing-data":     "Bytes follow the top-level JSON value.",
	"control-character": "A string holds a raw control character; RFC 8259 requires it escaped.",
	"max-depth":         "Objects and arrays nest deeper than the scanner's limit.",
	"number-range":      "A number is too large to represent.",
	"invalid-utf8":      "The body is not valid UTF-8.",
	"too-large":         "The body is larger than the validator accepts.",
}

func writeSARIF(w io.Writer, res *Result, o FormatOptions) error {
	driver := SARIFDriver{
		Name:           "orderguard",
		Version:        o.Version,
		InformationURI: "https://github.com/orderguard/orderguard",
		Rules:          []SARIFRule{},
	}
	index := map[string]int{}
	for _, r := range o.Rules {
		index[r.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule(r.ID, r.Description, r.Source, r.Severity, "rule"))
	}
	// Keyword rules in use, sorted, after the business rules.
	used := map[string]validate.Kind{}
	for i := range res.Files {
		for j := range res.Files[i].Payloads {
			for _, v := range res.Files[i].Payloads[j].Violations {
				if _, ok := index[v.Rule]; !ok {
					used[v.Rule] = v.Kind
				}
			}
		}
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		desc, ok := keywordRules[id]
		kind := used[id]
		if !ok {
			desc = "Schema keyword " + id + "."
			if kind == validate.KindSyntax {
				desc = "Strict JSON check " + id + "."
			}
		}
		source := "openapi/forter.yaml (OpenAPI 3.0 schema keyword)"
		if kind == validate.KindSyntax {
			source = "RFC 8259 (strict JSON)"
		}
		index[id] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule(id, desc, source, validate.SeverityError, kind.String()))
	}

	run := SARIFRun{Tool: SARIFTool{Driver: driver}, ColumnKind: "unicodeCodePoints", Results: []SARIFResult{}}
	for i := range res.Files {
		for j := range res.Files[i].Payloads {
			p := &res.Files[i].Payloads[j]
			uri := sarifURI(p.Path)
			for _, v := range p.Violations {
				msg := v.Message + " (" + pointerText(v.Pointer) + ")"
				props := &SARIFResProps{Operation: p.Operation, Kind: v.Kind.String()}
				if p.Index >= 0 {
					idx := p.Index
					props.Index = &idx
				}
				if p.InPostData() {
					msg += " [" + p.harPlace(v) + "]"
				}
				run.Results = append(run.Results, SARIFResult{
					RuleID:    v.Rule,
					RuleIndex: index[v.Rule],
					Level:     sarifLevel(v.Severity),
					Message:   SARIFText{Text: msg},
					Locations: []SARIFLocation{{
						PhysicalLocation: SARIFPhysical{
							ArtifactLocation: SARIFArtifact{URI: uri},
							Region:           SARIFRegion{StartLine: max(v.File.Line, 1), StartColumn: max(v.File.CharColumn, 1), ByteOffset: v.File.Offset},
						},
						LogicalLocations: []SARIFLogical{{FullyQualifiedName: pointerText(v.Pointer), Kind: "member"}},
					}},
					Properties: props,
				})
			}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(SARIFLog{Schema: sarifSchema, Version: "2.1.0", Runs: []SARIFRun{run}})
}

func sarifRule(id, desc, source string, sev validate.Severity, kind string) SARIFRule {
	r := SARIFRule{
		ID:                   id,
		ShortDescription:     SARIFText{Text: desc},
		FullDescription:      SARIFText{Text: strings.TrimSuffix(desc, ".") + ". Source: " + source},
		DefaultConfiguration: SARIFRuleConfig{Level: sarifLevel(sev)},
		Properties:           SARIFRuleProps{Source: source, Kind: kind, Tags: []string{"orderguard", kind}},
	}
	if strings.HasPrefix(source, "https://") || strings.HasPrefix(source, "http://") {
		r.HelpURI = source
	}
	return r
}

func sarifLevel(s validate.Severity) string {
	switch s {
	case validate.SeverityWarning:
		return "warning"
	case validate.SeverityOff:
		return "none"
	}
	return "error"
}

// sarifURI makes a URI reference of a display path: relative paths stay
// relative (code scanning resolves them against the checkout), absolute
// ones become file URIs.
func sarifURI(p string) string {
	if p == StdinPath {
		return "stdin"
	}
	if filepath.IsAbs(p) {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
	}
	return (&url.URL{Path: strings.TrimPrefix(p, "./")}).String()
}
