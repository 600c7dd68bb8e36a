// Package plugin is the contract between the engine and the community kinds
// (social, splits, ...) that plug into it. The engine never imports a
// plugin: cmd registers each one in a Registry, and the engine, console and
// web ask the Registry what the plugins provide.
//
// What a plugin provides:
//
//   - Manifest: its name, title and description, whether a tenant can be of
//     its kind, the coin event types it emits, the features it can sell.
//   - APIProvider: its REST operations, registered on a huma group that
//     answers 404 for tenants that have not enabled the plugin.
//   - WebProvider / ConsoleProvider: pages of the end-user app and of the
//     admin console, gated the same way.
//   - JobProvider: the periodic jobs it needs run for each tenant that
//     enabled it.
//
// Guarantee: a plugin's routes and pages answer 404 for a tenant that has
// not enabled it, whatever the plugin's own handlers do.
package plugin
