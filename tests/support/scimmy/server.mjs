// A SCIM 2.0 service provider for accesshive's tests that accesshive did not write:
// SCIMMY (https://github.com/scimmyjs/scimmy) parses requests, filters, applies PATCH,
// validates against the RFC schemas and formats every answer; scimmy-routers serves the
// RFC 7644 endpoints over Express. Only storage is ours: users and groups in memory.
//
// node server.mjs TOKEN   -> listens on 127.0.0.1, a free port, and prints "port N".
import crypto from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const token = process.argv[2];
const stores = {User: new Map(), Group: new Map()};
const unique = {User: "userName", Group: "displayName"};

function declare(Resource, name) {
    Resource
        .ingress((resource, instance) => {
            const store = stores[name];
            const key = unique[name];
            const clash = [...store.values()].find(
                (r) => String(r[key]).toLowerCase() === String(instance[key]).toLowerCase()
                    && r.id !== resource.id);
            if (clash) throw new SCIMMY.Types.Error(409, "uniqueness", `${key} is already taken`);
            const now = new Date().toISOString();
            if (resource.id && !store.has(resource.id)) {
                throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
            }
            const before = resource.id ? store.get(resource.id) : undefined;
            const id = resource.id ?? crypto.randomUUID();
            const stored = {...JSON.parse(JSON.stringify(instance)), id,
                meta: {created: before?.meta.created ?? now, lastModified: now}};
            store.set(id, stored);
            return stored;
        })
        .egress((resource) => {
            const store = stores[name];
            if (resource.id) {
                const found = store.get(resource.id);
                if (!found) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
                return found;
            }
            const all = [...store.values()];
            return resource.filter ? resource.filter.match(all) : all;
        })
        .degress((resource) => {
            if (!stores[name].delete(resource.id)) {
                throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
            }
        });
    SCIMMY.Resources.declare(Resource);
}

declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false), "User");
declare(SCIMMY.Resources.Group, "Group");
SCIMMY.Config.set({patch: true, filter: {supported: true, maxResults: 200}, sort: true});

const app = express();
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (request) => {
        if (request.header("Authorization") !== `Bearer ${token}`) {
            throw new Error("Authorization failed");
        }
        return "accesshive-tests";
    },
}));
const server = app.listen(0, "127.0.0.1", () => {
    console.log(`port ${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
