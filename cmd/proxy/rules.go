package main

import (
	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

// compiledRules lists the business rules compiled into this binary from the
// spec's x-orderguard extensions.
func compiledRules() []validate.RuleInfo { return gen.Rules }
