// chart-render renders a Helm chart's templates the way `helm template` does, for machines without helm.
//
// It mirrors the parts of Helm's engine (helm.sh/helm/v3/pkg/engine) our charts use: Go text/template with
// missingkey=zero, the sprig function library (without env/expandenv), include, tpl, required, fail, toYaml,
// fromYaml, toJson, fromJson, the "<no value>" clean-up, values coalescing (later files win, null deletes a key)
// and the .Values/.Release/.Chart/.Capabilities/.Template objects, and .Files.Get. Subcharts, lookup and the rest of
// .Files are not supported: keep the charts inside that. It builds offline from Debian's packages:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o chart-render .
//
// Usage: chart-render [-f values.yaml]... [-name release] [-namespace ns] [-notes] CHART_DIR
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

// apiVersions answers .Capabilities.APIVersions.Has like Helm's VersionSet.
type apiVersions []string

func (a apiVersions) Has(version string) bool {
	for _, v := range a {
		if v == version {
			return true
		}
	}
	return false
}

func main() {
	var files valueFiles
	var apis valueFiles
	flag.Var(&files, "f", "values file (repeatable; later files win)")
	flag.Var(&apis, "api-versions", "extra API versions for .Capabilities.APIVersions (repeatable)")
	name := flag.String("name", "release-name", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.31.0", "Kubernetes version for .Capabilities.KubeVersion")
	notes := flag.Bool("notes", false, "print the rendered NOTES.txt instead of the manifests")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: chart-render [-f values.yaml]... [-name release] [-namespace ns] [-notes] CHART_DIR")
		os.Exit(2)
	}
	out, err := render(flag.Arg(0), files, *name, *namespace, *kubeVersion, apis, *notes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

// chartFiles is Helm's .Files as far as the charts use it: Get returns a file of the chart as text, "" when missing.
type chartFiles struct{ dir string }

func (f chartFiles) Get(name string) string {
	clean := filepath.Clean(filepath.FromSlash(name))
	if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
		return ""
	}
	content, err := os.ReadFile(filepath.Join(f.dir, clean))
	if err != nil {
		return ""
	}
	return string(content)
}

func render(chartDir string, files []string, release, namespace, kubeVersion string, apis []string, notes bool) (string, error) {
	chart, err := readYAMLFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	chartName, _ := chart["name"].(string)
	if chartName == "" {
		return "", errors.New("Chart.yaml has no name")
	}
	if deps, ok := chart["dependencies"]; ok && deps != nil {
		return "", errors.New("subcharts (dependencies) are not supported by chart-render")
	}

	values, err := readYAMLFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return "", err
	}
	for _, f := range files {
		override, err := readYAMLFile(f)
		if err != nil {
			return "", err
		}
		coalesce(values, override)
	}

	major, minor := splitVersion(kubeVersion)
	top := map[string]interface{}{
		"Values": values,
		"Files":  chartFiles{dir: chartDir},
		"Chart":  chartObject(chart),
		"Release": map[string]interface{}{
			"Name": release, "Namespace": namespace, "IsInstall": true, "IsUpgrade": false,
			"Revision": 1, "Service": "Helm",
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": kubeVersion, "GitVersion": kubeVersion, "Major": major, "Minor": minor},
			"APIVersions": apiVersions(append([]string{"v1", "apps/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1"}, apis...)),
		},
	}

	templatesDir := filepath.Join(chartDir, "templates")
	var names []string
	sources := map[string]string{}
	err = filepath.Walk(templatesDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(templatesDir, path)
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		name := chartName + "/templates/" + filepath.ToSlash(rel)
		names = append(names, name)
		sources[name] = string(content)
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)

	t := template.New("gotpl").Option("missingkey=zero")
	t.Funcs(funcMap(t))
	for _, name := range names {
		if _, err := t.New(name).Parse(sources[name]); err != nil {
			return "", err
		}
	}

	var out strings.Builder
	for _, name := range names {
		base := filepath.Base(name)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != notes {
			continue
		}
		if !isNotes && !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") && !strings.HasSuffix(base, ".tpl") {
			continue
		}
		data := map[string]interface{}{}
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if isNotes {
			out.WriteString(text)
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, text)
	}
	return out.String(), nil
}

// funcMap is Helm's: sprig's text functions without env access, plus the chart functions of pkg/engine.
func funcMap(t *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	included := map[string]int{}
	f["include"] = func(name string, data interface{}) (string, error) {
		if included[name] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		included[name]++
		defer func() { included[name]-- }()
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		parsed, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf strings.Builder
		if err := parsed.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["required"] = func(message string, value interface{}) (interface{}, error) {
		if value == nil {
			return nil, errors.New(message)
		}
		if s, ok := value.(string); ok && s == "" {
			return nil, errors.New(message)
		}
		return value, nil
	}
	f["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return nil, errors.New("lookup is not supported by chart-render (and returns nothing under helm template)")
	}
	return f
}

// coalesce merges override into base as Helm does for user values: maps merge key by key, anything else
// replaces, and a null deletes the key.
func coalesce(base, override map[string]interface{}) {
	for key, value := range override {
		if value == nil {
			delete(base, key)
			continue
		}
		if sub, ok := value.(map[string]interface{}); ok {
			if existing, ok := base[key].(map[string]interface{}); ok {
				coalesce(existing, sub)
				continue
			}
		}
		base[key] = value
	}
}

func chartObject(chart map[string]interface{}) map[string]interface{} {
	special := map[string]string{"apiVersion": "APIVersion", "appVersion": "AppVersion", "kubeVersion": "KubeVersion"}
	object := map[string]interface{}{}
	for key, value := range chart {
		name, ok := special[key]
		if !ok {
			name = strings.ToUpper(key[:1]) + key[1:]
		}
		object[name] = value
	}
	return object
}

func readYAMLFile(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	values := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if values == nil {
		values = map[string]interface{}{}
	}
	return values, nil
}

func splitVersion(version string) (string, string) {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return parts[0], "0"
	}
	return parts[0], parts[1]
}
