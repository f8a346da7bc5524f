"""Shared UI pieces of the Streamlit app (no page logic here)."""
