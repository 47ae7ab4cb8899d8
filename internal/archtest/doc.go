// Package archtest keeps tokengate's layers: its tests read the import
// graph (`go list`) and the type-checked code of every package and fail,
// naming the offending import chain or call, when a package reaches past
// the layer below it. docs/ARCHITECTURE.md states the rules in prose.
package archtest
