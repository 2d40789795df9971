"""What readers see: the Streamlit dashboard and the weekly digest e-mail."""
