package deploy

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The fleet variant: a Deployment without per-pod volumes whose sidecars
// share a JetStream outbox on the NATS cluster of nats-values.yaml.
func TestManifestFleet(t *testing.T) {
	var og container
	var m manifest
	for _, mm := range loadManifestFile(t, "kubernetes/fleet.yaml") {
		for _, c := range mm.Spec.Template.Spec.Containers {
			if c.Name == "orderguard" {
				og, m = c, mm
			}
		}
	}
	if og.Name == "" {
		t.Fatal("fleet.yaml has no orderguard container")
	}
	if m.Kind != "Deployment" || len(m.Spec.VolumeClaimTemplates) != 0 {
		t.Errorf("kind %s with %d volume claims, want a Deployment without per-pod volumes", m.Kind, len(m.Spec.VolumeClaimTemplates))
	}
	outbox, _ := flagValue(og.Args, "outbox")
	for _, u := range strings.Split(outbox, ",") {
		if !strings.HasPrefix(u, "nats://") {
			t.Errorf("--outbox=%q: want nats:// URLs of the NATS cluster", outbox)
		}
	}
	if n := len(strings.Split(outbox, ",")); n != 3 {
		t.Errorf("--outbox names %d servers, want the cluster's 3", n)
	}
	if v, _ := flagValue(og.Args, "outbox-replicas"); v != "3" {
		t.Errorf("--outbox-replicas=%q, want 3", v)
	}
	creds, ok := flagValue(og.Args, "outbox-nats-creds")
	if !ok {
		t.Fatal("no --outbox-nats-creds")
	}
	secrets := map[string]bool{}
	for _, v := range m.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			secrets[v.Name] = true
		}
	}
	mounted := false
	for _, vm := range og.VolumeMounts {
		if strings.HasPrefix(creds, vm.MountPath+"/") && secrets[vm.Name] && vm.ReadOnly {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("--outbox-nats-creds %s is not on a read-only Secret volume", creds)
	}
	for _, e := range og.Env {
		if strings.HasPrefix(e.Name, "ORDERGUARD_OUTBOX_NATS_") && e.Value != "" {
			t.Errorf("%s given as a literal value", e.Name)
		}
	}

	checkServeFlags(t, "fleet.yaml", og.Args[1:])
}

// The NATS chart's values: JetStream on file storage, a 3-server cluster.
func TestNATSValues(t *testing.T) {
	data, err := os.ReadFile("kubernetes/nats-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Config struct {
			Cluster struct {
				Enabled  bool `yaml:"enabled"`
				Replicas int  `yaml:"replicas"`
			} `yaml:"cluster"`
			JetStream struct {
				Enabled   bool `yaml:"enabled"`
				FileStore struct {
					Enabled bool `yaml:"enabled"`
					PVC     struct {
						Enabled bool `yaml:"enabled"`
					} `yaml:"pvc"`
				} `yaml:"fileStore"`
			} `yaml:"jetstream"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	c := v.Config
	if !c.Cluster.Enabled || c.Cluster.Replicas != 3 {
		t.Errorf("cluster %+v, want enabled with 3 replicas", c.Cluster)
	}
	if !c.JetStream.Enabled || !c.JetStream.FileStore.Enabled || !c.JetStream.FileStore.PVC.Enabled {
		t.Errorf("jetstream %+v, want enabled on a file store with a volume", c.JetStream)
	}
}
