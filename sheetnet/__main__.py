from sheetnet.launch import main

main()
