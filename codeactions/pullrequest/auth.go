package pullrequest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// tokenEnv lists, in order, the environment variables a token is read
// from. Secrets never come from the workspace configuration.
var tokenEnv = []string{"FAULTLINE_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"}

// tokenFromEnv returns the first non-empty variable of names.
func tokenFromEnv(names []string) string {
	for _, k := range names {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	return ""
}

// pushAuth chooses how to authenticate a push to rm:
//   - file:// and git:// need nothing;
//   - http(s) to the host of the forge the token belongs to: the token as
//     the password of the forge's user name ("x-access-token" on GitHub,
//     "oauth2" on GitLab; Gitea ignores the name);
//   - other http(s) hosts: whatever `git credential fill` returns (the
//     user's credential helper), else nothing. A token is never sent to a
//     host it was not issued for;
//   - ssh: the ssh-agent.
func pushAuth(ctx context.Context, root string, rm remote, st *site) (transport.AuthMethod, error) {
	ep := rm.Endpoint
	switch ep.Protocol {
	case "file", "git":
		return nil, nil
	case "http", "https":
		if ep.User != "" || ep.Password != "" {
			return nil, nil // credentials in the URL: go-git uses them
		}
		if st.token != "" && strings.EqualFold(ep.Host, st.host) {
			return &githttp.BasicAuth{Username: st.pushUser, Password: st.token}, nil
		}
		if user, pass, ok := credentialFill(ctx, root, ep); ok {
			return &githttp.BasicAuth{Username: user, Password: pass}, nil
		}
		return nil, nil
	case "ssh":
		if os.Getenv("SSH_AUTH_SOCK") == "" {
			return nil, fmt.Errorf("remote %s uses ssh but no ssh-agent is running (SSH_AUTH_SOCK is unset): start one and add your key, or use an https remote", rm.Name)
		}
		user := ep.User
		if user == "" {
			user = "git"
		}
		a, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return nil, fmt.Errorf("use ssh-agent for remote %s: %w", rm.Name, err)
		}
		return a, nil
	}
	return nil, fmt.Errorf("remote %s uses %q, which Open PR cannot push to: use an https or ssh remote", rm.Name, ep.Protocol)
}

// credentialFill asks git's credential helpers for a user name and password
// for the endpoint. Prompts are disabled: a language server has no
// terminal, and a helper that needs one is treated as absent.
func credentialFill(ctx context.Context, root string, ep *transport.Endpoint) (user, pass string, ok bool) {
	host := ep.Host
	if ep.Port != 0 && !(ep.Protocol == "https" && ep.Port == 443) && !(ep.Protocol == "http" && ep.Port == 80) {
		host = fmt.Sprintf("%s:%d", ep.Host, ep.Port)
	}
	in := fmt.Sprintf("protocol=%s\nhost=%s\npath=%s\n\n", ep.Protocol, host, strings.TrimPrefix(ep.Path, "/"))
	cmd := exec.CommandContext(ctx, "git", "-C", root, "credential", "fill")
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GCM_INTERACTIVE=never")
	cmd.Stdin = strings.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		return "", "", false
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "username":
			user = v
		case "password":
			pass = v
		}
	}
	return user, pass, user != "" || pass != ""
}
