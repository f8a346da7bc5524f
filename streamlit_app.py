"""SymPE Lab: the Streamlit entry point (multipage navigation over pages/)."""
import streamlit as st

st.set_page_config(page_title="SymPE Lab", page_icon="◇", layout="wide")
page = st.navigation([st.Page("pages/home.py", title="Home", default=True)])
page.run()
