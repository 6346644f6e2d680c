package sandbox

import (
	"github.com/orderguard/orderguard/gen"
	"github.com/orderguard/orderguard/internal/validate"
)

// defaultOperations are the validators used when Config.Operations is nil:
// the ones generated from openapi/forter.yaml.
func defaultOperations() []validate.Operation { return gen.Operations }
