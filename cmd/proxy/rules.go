package main

import "github.com/orderguard/orderguard/internal/validate"

// compiledRules lists the business rules compiled into this binary.
func compiledRules() []validate.RuleInfo {
	return nil // replaced by gen.Rules once the rules land in gen/
}
