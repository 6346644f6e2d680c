package sandbox

import "github.com/orderguard/orderguard/internal/validate"

// defaultOperations are the validators used when Config.Operations is nil:
// the generated ones once gen/validators.gen.go exists.
func defaultOperations() []validate.Operation { return nil }
