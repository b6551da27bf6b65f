package model

import (
	"fmt"
	"strconv"
)

// Source says where an object was read from: a position in a file, or a
// live cluster reached through a kubeconfig context. Findings and errors
// print it so a user can jump to the object.
type Source struct {
	// File is the path as the user gave it, or "-" for standard input.
	File string `json:"file,omitempty"`
	// Line is the 1-based line where the object (or the rule inside it)
	// starts; 0 when unknown.
	Line int `json:"line,omitempty"`
	// Cluster is the kubeconfig context of a live cluster.
	Cluster string `json:"cluster,omitempty"`
}

// String renders the source as file:line, "stdin:line" or "cluster <context>".
func (s Source) String() string {
	switch {
	case s.Cluster != "":
		return "cluster " + s.Cluster
	case s.File == "":
		return "unknown"
	}
	file := s.File
	if file == "-" {
		file = "stdin"
	}
	if s.Line > 0 {
		return file + ":" + strconv.Itoa(s.Line)
	}
	return file
}

// At returns the same source positioned at another line; used for rules and
// list items inside an object.
func (s Source) At(line int) Source {
	if s.Cluster != "" || line <= 0 {
		return s
	}
	s.Line = line
	return s
}

// Ref names a Kubernetes object.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String renders the reference as kind/namespace/name (kind/name when the
// object is cluster-scoped), the form used in every message.
func (r Ref) String() string {
	if r.Namespace == "" {
		return fmt.Sprintf("%s/%s", r.Kind, r.Name)
	}
	return fmt.Sprintf("%s/%s/%s", r.Kind, r.Namespace, r.Name)
}
