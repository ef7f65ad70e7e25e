//! Detector family placeholder: filled in by the protocol-identification work.

use super::Detector;

/// Detectors of this family (none yet).
pub(crate) const DETECTORS: &[Detector] = &[];
