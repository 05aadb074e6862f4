//go:build !windows

package mcpserver

// addExplain registers nothing: "explain" is a Windows tool.
func (s *Server) addExplain() {}
