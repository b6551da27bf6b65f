package load

import "github.com/ringfence/ringfence/internal/model"

// Recognized is a document identified by its shape that the model does not
// hold.
type Recognized struct {
	Shape  string       `json:"shape"`
	Source model.Source `json:"source"`
}
