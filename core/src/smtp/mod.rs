//! SMTP: sans-IO parsing and the server.
