# kubespray2talos: `make demo` and `make test` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_INV := playbook_fixtures/inventories/demo
DEMO_OUT := build/demo

.PHONY: demo test e2e bench lint clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

K2T := $(BIN)/kubespray2talos
DEMO_PKI := playbook_fixtures/pki/demo
DEMO_TWIN := playbook_fixtures/clusters/demo.json

# The whole pipeline on the bundled example: inspect, plan (with the cluster's own PKI), review the diff,
# then point kubectl and `diff --live` at a twin of the running cluster. diff exits 1 when there are
# differences (expected here); only exit 2 (trouble) stops the demo.
demo: $(STAMP)
	@rm -rf $(DEMO_OUT) && mkdir -p $(DEMO_OUT)
	@echo "== 1. inspect: what the Kubespray inventory says the cluster is"
	$(K2T) inspect $(DEMO_INV)
	@echo "== 2. plan: Talos configs that join this cluster, with its own CAs"
	$(K2T) plan $(DEMO_INV) --pki $(DEMO_PKI) --out $(DEMO_OUT)/plan
	@echo "== 3. diff: what changes for the cluster (markdown, as for a merge request)"
	$(K2T) diff $(DEMO_INV) $(DEMO_OUT)/plan --output markdown > $(DEMO_OUT)/diff.md; rc=$$?; [ $$rc -le 1 ] || exit $$rc; \
	  head -n 25 $(DEMO_OUT)/diff.md; echo "   (full review: $(DEMO_OUT)/diff.md)"
	@echo "== 4. twin: the running cluster, served on 127.0.0.1 for kubectl and diff --live"
	@$(K2T) twin serve $(DEMO_TWIN) --kubeconfig $(DEMO_OUT)/twin.kubeconfig > $(DEMO_OUT)/twin.log 2>&1 & echo $$! > $(DEMO_OUT)/twin.pid; \
	  for i in $$(seq 100); do [ -s $(DEMO_OUT)/twin.kubeconfig ] && break; sleep 0.1; done; \
	  $(BIN)/kubectl --kubeconfig $(DEMO_OUT)/twin.kubeconfig get nodes -o wide; \
	  $(K2T) diff $(DEMO_INV) --live --kubeconfig $(DEMO_OUT)/twin.kubeconfig; rc=$$?; \
	  if [ $$rc -le 1 ]; then echo "== 5. preflight, prepare --dry-run, then migrate --dry-run: what would stop the night, what the cluster needs first, every wave"; \
	    $(K2T) preflight $(DEMO_OUT)/plan --kubeconfig $(DEMO_OUT)/twin.kubeconfig; rc=$$?; fi; \
	  if [ $$rc -le 1 ]; then \
	    $(K2T) prepare $(DEMO_OUT)/plan --kubeconfig $(DEMO_OUT)/twin.kubeconfig --dry-run; rc=$$?; fi; \
	  if [ $$rc -le 1 ]; then \
	    $(K2T) migrate $(DEMO_OUT)/plan --kubeconfig $(DEMO_OUT)/twin.kubeconfig --dry-run --delete-emptydir-data --force; rc=$$?; fi; \
	  kill $$(cat $(DEMO_OUT)/twin.pid); [ $$rc -le 1 ] || exit $$rc
	@echo "== 6. rehearse: the same engine on a twin in virtual time — how long, wave by wave, against one node at a time"
	$(K2T) rehearse $(DEMO_TWIN) $(DEMO_OUT)/plan --max-unavailable 2 --delete-emptydir-data --force
	@echo "== 7. ledger: where every old host stands (plan created $(DEMO_OUT)/plan/ledger.db), and the decommission report"
	$(K2T) status $(DEMO_OUT)/plan
	$(K2T) report $(DEMO_OUT)/plan --output html --out $(DEMO_OUT)/report.html
	@echo "== done: configs in $(DEMO_OUT)/plan (secrets.yaml, talosconfig, *.yaml are 0600), report in $(DEMO_OUT)/plan/report.md, decommission report in $(DEMO_OUT)/report.html"

# mypy --strict on all of migrate/ first (only third-party libraries without types are relaxed, in pyproject)
test: $(STAMP)
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile -m "not client_e2e"

# the official kubernetes client's own e2e suite against the twin: its code comes from GitHub (not from any
# package registry), installed beside the project first: python -m tests.cluster.client_e2e_suite --from-git CLONE
e2e: $(STAMP)
	$(BIN)/pytest -m client_e2e tests/cluster/test_client_e2e.py

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check migrate tests bench

clean:
	rm -rf $(VENV) build .pytest_cache
