package api

import (
	"net/http"
	"regexp"
	"strings"
)

var wildcardRE = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// openAPIPath turns a ServeMux pattern into an OpenAPI path and its path
// parameters.
func openAPIPath(pattern string) (string, []string) {
	p := strings.TrimSuffix(pattern, "{$}")
	var params []string
	p = wildcardRE.ReplaceAllStringFunc(p, func(m string) string {
		name := wildcardRE.FindStringSubmatch(m)[1]
		params = append(params, name)
		return "{" + name + "}"
	})
	return p, params
}

// OpenAPI returns the OpenAPI 3.1 document of every registered route,
// built-in and mounted.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	types := newSchemas()
	for _, rt := range s.registered() {
		path, params := openAPIPath(rt.Pattern)
		ok := map[string]any{"description": "Success."}
		switch {
		case rt.Produces != "":
			ok["content"] = map[string]any{rt.Produces: map[string]any{}}
		case rt.Response != nil:
			ok["content"] = jsonContent(types.of(rt.Response))
		}
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
			"responses": map[string]any{
				"2XX":     ok,
				"default": map[string]any{"description": "Error.", "content": jsonContent(ref("Error"))},
			},
		}
		var ps []any
		for _, name := range params {
			ps = append(ps, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, name := range rt.query {
			ps = append(ps, map[string]any{"name": name, "in": "query", "schema": map[string]any{"type": "string"}})
		}
		if rt.mutating() && rt.Role != "" {
			ps = append(ps, map[string]any{"name": CSRFHeader, "in": "header",
				"description": "The session's CSRF token; required with the session cookie.", "schema": map[string]any{"type": "string"}})
		}
		if len(ps) > 0 {
			op["parameters"] = ps
		}
		if rt.Role == "" {
			op["security"] = []any{}
		} else {
			op["x-decnet-role"] = rt.Role
		}
		if rt.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": jsonContent(types.of(rt.Request))}
		} else if rt.Method == http.MethodPost || rt.Method == http.MethodPut || rt.Method == http.MethodPatch {
			op["requestBody"] = map[string]any{"required": false, "content": jsonContent(map[string]any{"type": "object"})}
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(rt.Method)] = op
	}
	components := map[string]any{"Error": errorSchema}
	for k, v := range types.defs {
		components[k] = v
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "DECNET operator API", "version": "1",
			"description": "See docs/api.md for the auth model, the error shape and pagination."},
		"servers":  []any{map[string]any{"url": Prefix}},
		"security": []any{map[string]any{"session": []any{}}, map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": s.cookieName()},
				"bearer":  map[string]any{"type": "http", "scheme": "bearer"},
			},
			"schemas": components,
		},
	}
}

// errorSchema is every error's body (docs/api.md, "Error shape").
var errorSchema = map[string]any{
	"type": "object", "required": []string{"error"}, "additionalProperties": false,
	"properties": map[string]any{"error": map[string]any{
		"type": "object", "required": []string{"code", "message"}, "additionalProperties": false,
		"properties": map[string]any{
			"code":    map[string]any{"type": "string"},
			"message": map[string]any{"type": "string"},
			"details": map[string]any{},
		},
	}},
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9]+`)

func operationID(rt *route) string {
	p, _ := openAPIPath(rt.Pattern)
	return strings.ToLower(rt.Method) + strings.Trim(nonIdent.ReplaceAllString(p, "_"), "_")
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request, _ *Principal) {
	WriteJSON(w, http.StatusOK, s.OpenAPI())
}
