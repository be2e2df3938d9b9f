package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/localstack/devstack"
)

func openapiCommand() *cobra.Command {
	var dir string
	var check bool
	cmd := &cobra.Command{
		Use:   "openapi",
		Short: "Write each system's OpenAPI 3.1 document (schemas/openapi/<system>.json) from the functions' registrations",
		Long: "Write each system's OpenAPI 3.1 document from the operations its HTTP functions register. The functions\n" +
			"embed these files and serve them at GET /openapi.json; rerun after changing a route, a request or a response type.\n" +
			"With --check, write nothing and fail if a file is out of date.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			docs, err := devstack.OpenAPIDocuments()
			if err != nil {
				return err
			}
			systems := make([]string, 0, len(docs))
			for s := range docs {
				systems = append(systems, s)
			}
			sort.Strings(systems)
			var stale []string
			for _, s := range systems {
				path := filepath.Join(dir, s+".json")
				if old, _ := os.ReadFile(path); bytes.Equal(old, docs[s]) {
					continue
				}
				if check {
					stale = append(stale, path)
					continue
				}
				if err := os.WriteFile(path, docs[s], 0o644); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", path)
			}
			if len(stale) > 0 {
				return fmt.Errorf("out of date (run make openapi): %v", stale)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "schemas/openapi", "folder of the documents")
	cmd.Flags().BoolVar(&check, "check", false, "fail if a document is out of date instead of writing it")
	return cmd
}
