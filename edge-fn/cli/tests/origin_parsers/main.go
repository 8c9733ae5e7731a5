// Go origin parsers for the differential test (scripts/test-differential.sh): net/url's
// ParseQuery on the query and on a form body, net/http's cookies and headers, and
// encoding/json decoding into a struct whose fields are tagged with the selected member names
// (built at run time with reflect.StructOf from the X-Diff-Paths header), which is where Go
// folds Unicode case (encoding/json/fold.go).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
)

// node of the struct shape: member name -> child shape; "*" is an array of the child shape.
type node map[string]node

var raw = reflect.TypeOf(json.RawMessage{})

func build(n node) reflect.Type {
	if len(n) == 0 {
		return raw
	}
	if inner, ok := n["*"]; ok && len(n) == 1 {
		return reflect.SliceOf(build(inner))
	}
	fields := []reflect.StructField{}
	i := 0
	for name, child := range n {
		if name == "*" {
			continue
		}
		t := build(child)
		if t.Kind() == reflect.Struct || t.Kind() == reflect.Slice {
			t = reflect.PtrTo(t)
		}
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("F%d", i),
			Type: t,
			Tag:  reflect.StructTag(fmt.Sprintf(`json:%q`, name+",omitempty")),
		})
		i++
	}
	return reflect.StructOf(fields)
}

func handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	out := map[string]interface{}{}
	q, _ := url.ParseQuery(r.URL.RawQuery)
	out["go-url-query"] = q
	if !strings.Contains(strings.ToLower(r.Header.Get("Content-Type")), "json") {
		f, _ := url.ParseQuery(string(body))
		out["go-url-form"] = f
	}
	cookies := map[string][]string{}
	for _, c := range r.Cookies() {
		cookies[c.Name] = append(cookies[c.Name], c.Value)
	}
	out["go-cookies"] = cookies
	out["go-headers"] = r.Header
	out["go-path"] = r.URL.Path
	var paths [][]string
	_ = json.Unmarshal([]byte(r.Header.Get("X-Diff-Paths")), &paths)
	if len(paths) > 0 && len(body) > 0 {
		shape := node{}
		for _, p := range paths {
			at := shape
			for _, name := range p {
				if at[name] == nil {
					at[name] = node{}
				}
				at = at[name]
			}
		}
		v := reflect.New(build(shape))
		if err := json.Unmarshal(body, v.Interface()); err == nil {
			out["go-json-struct"] = v.Interface()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func main() {
	http.HandleFunc("/", handle)
	fmt.Println("go ready")
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
