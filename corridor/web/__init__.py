"""corridor.web"""
