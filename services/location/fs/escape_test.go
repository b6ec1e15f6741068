package fs

import (
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/services/location"
	"github.com/sluice-io/sluice/services/location/locationtest"
)

// nastyKeys are keys aimed at escaping the root or colliding, beyond the
// suite's OddKeys.
var nastyKeys = []string{
	"../../outside",
	"../root2/x",
	"a/../../../../b",
	strings.Repeat("../", 341),
	strings.Repeat("..", 512),
	"/tmp/x",
	"//server/share",
	`\..\..\x`,
	`C:\Windows\system32`,
	"..%2F..%2Fx",
	"%2e%2e/x",
	"\x00/../x",
	"../\x00",
	"\u2215..\u2215x", // division slash
	"\uff0e\uff0e/x",  // fullwidth dots
	"./",
	"././..",
	"...",
	"~",
	".tmp/x",
	".lock",
	".sluice-fs",
	"x/.tmp",
	strings.Repeat("é", 512),
	strings.Repeat("a/", 511) + "z",
	strings.Repeat("/", location.MaxKeyLen-1) + "x",
	strings.Repeat("\xff", location.MaxKeyLen),
	"dir", "dir/", "dir//", "dir/x", "dir/x/",
}

// TestNastyKeysStayInside stores every nasty key, then walks the parent of
// the root: every file must lie under the root, decode back to one of the
// keys, and nothing may appear beside the root.
func TestNastyKeysStayInside(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	d := newTestDriver(t, Config{Root: root})
	defer d.Close()

	keys := map[string]string{}
	for _, k := range locationtest.OddKeys() {
		keys[k.Key] = "odd " + k.Name
	}
	for i, k := range nastyKeys {
		keys[k] = "nasty " + string(rune('A'+i%26)) + k
	}
	for k, v := range keys {
		put(t, d, k, v)
	}

	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "root" {
		t.Fatalf("parent of the root holds %v, want only root", entries)
	}
	m := mapper{}
	found := map[string]bool{}
	err = filepath.WalkDir(parent, func(p string, e iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if p != parent && (err != nil || !filepath.IsLocal(rel) && rel != ".") {
			t.Errorf("%s lies outside the root", p)
		}
		if e.Type()&iofs.ModeSymlink != 0 {
			t.Errorf("%s is a symbolic link", p)
		}
		if !e.Type().IsRegular() || strings.HasPrefix(rel, ".") {
			return nil
		}
		key, ok := m.keyOf(strings.Split(rel, string(filepath.Separator)))
		if _, stored := keys[key]; !ok || !stored {
			t.Errorf("file %s does not belong to a stored key (decodes to %q, %v)", rel, key, ok)
		}
		if found[key] {
			t.Errorf("two files for key %q", key)
		}
		found[key] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != len(keys) {
		t.Errorf("%d object files for %d keys", len(found), len(keys))
	}
	for k, v := range keys {
		if got := getString(t, d, k); got != v {
			t.Errorf("Get(%.40q) = %q, want %q", k, got, v)
		}
	}
	page, err := d.List(t.Context(), "", "", location.MaxKeyLen)
	if err != nil || len(page) != len(keys) {
		t.Fatalf("List = %d objects, %v; want %d", len(page), err, len(keys))
	}
	for k := range keys {
		if err := d.Delete(t.Context(), k); err != nil {
			t.Fatalf("Delete(%.40q): %v", k, err)
		}
	}
	requireOnlyInternal(t, root)
}

// TestSymlinksDoNotLeadOut plants symbolic links inside the root pointing
// outside; os.Root must refuse to follow them.
func TestSymlinksDoNotLeadOut(t *testing.T) {
	parent := t.TempDir()
	root, outside := filepath.Join(parent, "root"), filepath.Join(parent, "outside")
	if err := os.Mkdir(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(outside, "secret~o")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newTestDriver(t, Config{Root: root})
	defer d.Close()
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(root, "evil~o")); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := d.Put(ctx, "link/x", strings.NewReader("x"), location.PutOptions{Size: 1}); err == nil {
		t.Error("Put through a symlink out of the root succeeded")
	}
	if _, _, err := d.Get(ctx, "link/secret", nil); err == nil {
		t.Error("Get through a symlink out of the root succeeded")
	}
	if _, err := d.Stat(ctx, "evil"); err == nil {
		t.Errorf("Stat of a symlink out of the root: %v, want an error", err)
	}
	// Overwriting replaces the link itself, never its target.
	put(t, d, "evil", "replaced")
	if got := getString(t, d, "evil"); got != "replaced" {
		t.Errorf("Get(evil) = %q", got)
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "secret" {
		t.Errorf("file outside the root changed: %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Errorf("outside directory holds %v, want only the secret", entries)
	}
}
