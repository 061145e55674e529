// Offline checks of deploy/ (run by `make lint`): every Kubernetes manifest in deploy/k8s/
// is validated against the Kubernetes models (npm kubernetes-models: the API's own JSON
// schemas), and deploy/compose/compose.yaml is parsed and checked for what compose would
// refuse (unknown services in depends_on, a service with neither image nor build, configs
// and volumes not declared). Docker is not needed.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parseDocument } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const deploy = dirname(here);
let bad = 0;

function fail(file, msg) {
    console.error(`lint-deploy: ${file}: ${msg}`);
    bad++;
}

async function modelFor(apiVersion, kind) {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const path = group === "" ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
    const mod = await import(path);
    return mod[kind];
}

let manifests = 0;
for (const name of readdirSync(join(deploy, "k8s")).sort()) {
    if (!name.endsWith(".yaml"))
        continue;
    const file = `deploy/k8s/${name}`;
    for (const doc of parseAllDocuments(readFileSync(join(deploy, "k8s", name), "utf8"))) {
        if (doc.errors.length > 0) {
            fail(file, doc.errors[0].message);
            continue;
        }
        const obj = doc.toJS();
        if (obj === null)
            continue;
        let Model;
        try {
            Model = await modelFor(obj.apiVersion, obj.kind);
        } catch (e) {
            Model = undefined;
        }
        if (Model === undefined) {
            fail(file, `unknown apiVersion/kind ${obj.apiVersion} ${obj.kind}`);
            continue;
        }
        try {
            new Model(obj).validate();
            manifests++;
        } catch (e) {
            fail(file, `${obj.kind} ${obj.metadata?.name}: ${e.message}`);
        }
    }
}

const composeFile = "deploy/compose/compose.yaml";
const cdoc = parseDocument(readFileSync(join(deploy, "compose", "compose.yaml"), "utf8"), {
    merge: true,
});
if (cdoc.errors.length > 0) {
    fail(composeFile, cdoc.errors[0].message);
} else {
    const c = cdoc.toJS({ maxAliasCount: 100 });
    const services = c.services ?? {};
    if (Object.keys(services).length === 0)
        fail(composeFile, "no services");
    for (const [name, s] of Object.entries(services)) {
        if (!s.image && !s.build)
            fail(composeFile, `service ${name} has neither image nor build`);
        const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
        for (const d of deps)
            if (!(d in services))
                fail(composeFile, `service ${name} depends on unknown service ${d}`);
        for (const cf of s.configs ?? [])
            if (!(cf.source in (c.configs ?? {})))
                fail(composeFile, `service ${name} uses undeclared config ${cf.source}`);
        for (const v of s.volumes ?? []) {
            const src = typeof v === "string" ? v.split(":")[0] : v.source;
            if (!src.startsWith(".") && !src.startsWith("/") && !(src in (c.volumes ?? {})))
                fail(composeFile, `service ${name} uses undeclared volume ${src}`);
        }
    }
    for (const want of ["hisaab-a", "hisaab-b", "nginx", "pg-primary", "pg-replica", "redis-1",
                        "sentinel-1", "sentinel-2", "sentinel-3"])
        if (!(want in services))
            fail(composeFile, `missing service ${want}`);
}

if (bad === 0)
    console.log(`lint-deploy: ${manifests} Kubernetes objects valid, compose file consistent`);
process.exit(bad === 0 ? 0 : 1);
