//! The eflow-image pipeline.
