package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	identityv1alpha1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/manager"
	"github.com/scim-operator/scim-operator/internal/token"
)

const tokenUsage = `Usage: scim-operator token create|rotate|revoke --namespace N --tenant T [flags]

  create   Store a new token for the tenant and print it, once. Only its SHA-256 is stored.
           --secret NAME (default: the tenant's tokenSecretRef if free, else a new name)
           --expires-in DURATION (default: never)
  rotate   Store a new token in a new Secret and print it; every older token of the tenant
           stays valid for --overlap (default 1h), time to switch the identity provider.
  revoke   Delete the tenant's token Secret named by --secret, or every one with --all.

The kubeconfig is found as kubectl finds it (--kubeconfig, $KUBECONFIG, ~/.kube/config).`

func runToken(ctx context.Context, args []string, stdout io.Writer, stderr *os.File) int {
	if len(args) == 0 {
		return usage(stderr, tokenUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("token "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	namespace := fs.String("namespace", "", "Namespace of the tenant.")
	tenant := fs.String("tenant", "", "Name of the ScimTenant.")
	secret := fs.String("secret", "", "Name of the token Secret.")
	expiresIn := fs.Duration("expires-in", 0, "Validity of a created token (0: no expiry).")
	overlap := fs.Duration("overlap", time.Hour, "How long older tokens stay valid after a rotation.")
	all := fs.Bool("all", false, "With revoke: delete every token Secret of the tenant.")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *namespace == "" || *tenant == "" {
		return usage(stderr, "--namespace and --tenant are required\n\n"+tokenUsage)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintf(stderr, "loading kubeconfig: %v\n", err)
		return 1
	}
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		fmt.Fprintf(stderr, "creating client: %v\n", err)
		return 1
	}
	t := &identityv1alpha1.ScimTenant{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: *namespace, Name: *tenant}, t); err != nil {
		fmt.Fprintf(stderr, "reading ScimTenant %s/%s: %v\n", *namespace, *tenant, err)
		return 1
	}

	switch verb {
	case "create":
		name := *secret
		if name == "" && !secretExists(ctx, c, *namespace, t.Spec.TokenSecretRef.Name) {
			name = t.Spec.TokenSecretRef.Name
		}
		var expiresAt time.Time
		if *expiresIn > 0 {
			expiresAt = time.Now().Add(*expiresIn)
		}
		tok, s, err := token.Issue(ctx, c, *namespace, *tenant, name, expiresAt)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stderr, "Stored the token's SHA-256 in Secret %s/%s. The token is shown once:\n", *namespace, s.Name)
		fmt.Fprintln(stdout, tok)
	case "rotate":
		tok, s, expiring, err := token.Rotate(ctx, c, *namespace, *tenant, *overlap)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stderr, "Stored the new token's SHA-256 in Secret %s/%s.", *namespace, s.Name)
		if len(expiring) > 0 {
			fmt.Fprintf(stderr, " Older tokens (%s) expire in %s.", strings.Join(expiring, ", "), *overlap)
		}
		fmt.Fprintln(stderr, " The token is shown once:")
		fmt.Fprintln(stdout, tok)
	case "revoke":
		if *secret == "" && !*all {
			return usage(stderr, "revoke needs --secret NAME or --all")
		}
		deleted, err := token.Revoke(ctx, c, *namespace, *tenant, *secret)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "Deleted token Secret(s): %s\n", strings.Join(deleted, ", "))
	default:
		return usage(stderr, tokenUsage)
	}
	return 0
}

func secretExists(ctx context.Context, c client.Client, namespace, name string) bool {
	err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &corev1.Secret{})
	return err == nil
}
