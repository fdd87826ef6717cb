//! Every end-to-end test of the `upcheck` binary, in one test binary: each test binary links
//! the whole client stack, so one of them instead of one per file saves most of the build.

mod common;

mod catalog;
mod checks;
mod checks_addons;
mod checks_aks;
mod checks_capi;
mod checks_control_plane;
mod checks_drain;
mod checks_eks;
mod checks_workloads;
mod ci;
mod cli;
mod cluster;
mod cluster_recorded;
mod first_run;
mod fix;
mod fleet;
mod plan;
mod recorded_v1_34;
mod serve;
mod snapshot;
